#include "tests/support/kube/strategic_merge.h"

#include <algorithm>
#include <optional>
#include <vector>

namespace tartan::testing::kube {
namespace {

constexpr const char* kDirective = "$patch";
constexpr const char* kRetainKeys = "$retainKeys";
const std::string kSetElementOrder = "$setElementOrder/";
const std::string kDeleteFromPrimitiveList = "$deleteFromPrimitiveList/";

using List = std::vector<Json>;

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

const MergeList* strategy_of(const PatchSchema& schema, const std::string& path) {
  const auto it = schema.find(path);
  return it == schema.end() ? nullptr : &it->second;
}

// Go compares decoded JSON by dynamic type; every JSON number is a float64.
bool same_kind(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return true;
  return a.type() == b.type();
}

// removeDirectives: an object carrying $patch is dropped (nullopt), inside
// objects and lists too.
std::optional<Json> without_directives(Json v) {
  if (v.is_object()) {
    if (v.contains(kDirective)) return std::nullopt;
    Json out = Json::object();
    for (auto& [k, child] : v.items()) {
      if (auto kept = without_directives(child)) out[k] = std::move(*kept);
    }
    return out;
  }
  if (v.is_array()) {
    Json out = Json::array();
    for (auto& child : v) {
      if (auto kept = without_directives(child)) out.push_back(std::move(*kept));
    }
    return out;
  }
  return v;
}

// discardNullValuesFromPatch.
void discard_nulls(Json& v) {
  if (v.is_object()) {
    std::vector<std::string> nulls;
    for (auto& [k, child] : v.items()) {
      if (child.is_null())
        nulls.push_back(k);
      else
        discard_nulls(child);
    }
    for (const auto& k : nulls) v.erase(k);
  } else if (v.is_array()) {
    for (auto& child : v) discard_nulls(child);
  }
}

// A value the patch adds where the original has nothing comparable.
void take_patch_value(Json& original, const std::string& key, Json value) {
  discard_nulls(value);
  if (auto kept = without_directives(std::move(value)))
    original[key] = std::move(*kept);
  else
    original.erase(key);
}

// Element kind of the lists (sliceElementType): objects or scalars, never
// lists, never mixed.
bool lists_hold_objects(const List& a, const List& b) {
  std::optional<bool> objects;
  for (const List* l : {&a, &b}) {
    for (const Json& e : *l) {
      if (e.is_array()) throw PatchError("lists of lists are not supported");
      if (objects && *objects != e.is_object())
        throw PatchError("list element types are not identical");
      objects = e.is_object();
    }
  }
  return objects.value_or(false);
}

Json key_value(const Json& item, const std::string& merge_key, bool objects) {
  if (!objects) return item;
  return item.is_object() && item.contains(merge_key) ? item[merge_key] : Json();
}

int index_of(const List& l, const Json& item, const std::string& merge_key, bool objects) {
  const Json wanted = key_value(item, merge_key, objects);
  for (size_t i = 0; i < l.size(); ++i) {
    if (key_value(l[i], merge_key, objects) == wanted) return static_cast<int>(i);
  }
  return -1;
}

void require_merge_key(const Json& item, const std::string& merge_key) {
  if (!item.is_object() || !item.contains(merge_key))
    throw PatchError("map: " + item.dump() + " does not contain declared merge key: " + merge_key);
}

// partition{Primitives,Maps}ByPresentInList: (present in `by`, absent).
std::pair<List, List> partition(const List& merged, const List& by, const std::string& merge_key,
                                bool objects) {
  List present, absent;
  for (const Json& v : merged) {
    if (objects) require_merge_key(v, merge_key);
    (index_of(by, v, merge_key, objects) >= 0 ? present : absent).push_back(v);
  }
  return {present, absent};
}

void sort_by(List& l, const List& order, const std::string& merge_key, bool objects) {
  std::stable_sort(l.begin(), l.end(), [&](const Json& a, const Json& b) {
    const int ia = index_of(order, a, merge_key, objects);
    const int ib = index_of(order, b, merge_key, objects);
    return ia >= 0 && ib >= 0 && ia < ib;
  });
}

// normalizeElementOrder + mergeSortedSlice: patch items keep the patch's
// order, server-only items the live order, and a server-only item goes
// before a patch item only when both are in the live list in that order.
// So an item the patch adds comes first: a new condition leads the list.
List normalize_order(List patch_items, List server_only, const List& patch_order,
                     const List& server_order, const std::string& merge_key, bool objects) {
  sort_by(patch_items, patch_order, merge_key, objects);
  sort_by(server_only, server_order, merge_key, objects);
  List out;
  size_t i = 0, j = 0;
  while (i < server_only.size() || j < patch_items.size()) {
    if (j >= patch_items.size()) {
      out.push_back(server_only[i++]);
    } else if (i >= server_only.size()) {
      out.push_back(patch_items[j++]);
    } else {
      const int li = index_of(server_order, server_only[i], merge_key, objects);
      const int ri = index_of(server_order, patch_items[j], merge_key, objects);
      if (li >= 0 && ri >= 0 && li < ri)
        out.push_back(server_only[i++]);
      else
        out.push_back(patch_items[j++]);
    }
  }
  return out;
}

Json merge_map(Json original, Json patch, const std::string& path, const PatchSchema& schema);

List merge_slice(List original, List patch, const std::string& path, const std::string& merge_key,
                 bool delete_list, const PatchSchema& schema) {
  if (original.empty() && patch.empty()) return original;
  const bool objects = lists_hold_objects(original, patch);
  List merged;
  if (!objects) {
    if (delete_list) {
      for (const Json& v : original) {
        if (std::find(patch.begin(), patch.end(), v) == patch.end()) merged.push_back(v);
      }
      return merged;
    }
    for (const List* l : {&original, &patch}) {
      for (const Json& v : *l) {
        if (std::find(merged.begin(), merged.end(), v) == merged.end()) merged.push_back(v);
      }
    }
  } else {
    if (merge_key.empty()) throw PatchError("cannot merge lists without merge key for " + path);
    // mergeSliceWithSpecialElements: $patch delete / replace items.
    List plain;
    bool replace = false;
    for (const Json& item : patch) {
      if (!item.contains(kDirective)) {
        plain.push_back(item);
        continue;
      }
      const Json& d = item[kDirective];
      if (d == "delete") {
        require_merge_key(item, merge_key);
        std::erase_if(original, [&](const Json& o) {
          return o.is_object() && o.contains(merge_key) && o[merge_key] == item[merge_key];
        });
      } else if (d == "replace") {
        replace = true;
      } else if (d == "merge") {
        throw PatchError("merging lists cannot yet be specified in the patch");
      } else {
        throw PatchError("unknown patch type: " + d.dump() + " in map: " + item.dump());
      }
    }
    if (replace) {
      original = plain;
      patch.clear();
    } else {
      patch = plain;
    }
    // mergeSliceWithoutSpecialElements: merge by key, append the new.
    merged = original;
    for (const Json& item : patch) {
      require_merge_key(item, merge_key);
      const int at = index_of(merged, item, merge_key, true);
      if (at >= 0) {
        merged[at] = merge_map(merged[at], item, path, schema);
      } else {
        Json added = item;
        discard_nulls(added);
        if (auto kept = without_directives(std::move(added))) merged.push_back(std::move(*kept));
      }
    }
  }
  auto [patch_items, server_only] = partition(merged, patch, merge_key, objects);
  return normalize_order(std::move(patch_items), std::move(server_only), patch, original, merge_key,
                         objects);
}

// mergeSliceHandler: merge lists with a strategy, replace the others.
Json merge_list_field(const Json& original, const Json& patch, const std::string& path,
                      bool delete_list, const PatchSchema& schema) {
  const MergeList* strategy = strategy_of(schema, path);
  if (strategy == nullptr && !delete_list) return patch;
  return merge_slice(original.get<List>(), patch.get<List>(), path,
                     strategy ? strategy->merge_key : "", delete_list, schema);
}

// applyRetainKeysDirective.
void retain_keys(Json& original, Json& patch) {
  if (!patch.contains(kRetainKeys)) return;
  const Json keep = patch[kRetainKeys];
  patch.erase(kRetainKeys);
  if (!keep.is_array()) throw PatchError("invalid patch format of retainKeys");
  const auto kept = [&](const std::string& k) {
    return std::find(keep.begin(), keep.end(), Json(k)) != keep.end();
  };
  for (auto& [k, v] : patch.items()) {
    if (v.is_null() || k.starts_with(kDeleteFromPrimitiveList) || k.starts_with(kSetElementOrder))
      continue;
    if (!kept(k)) throw PatchError("invalid patch format of retainKeys");
  }
  std::vector<std::string> drop;
  for (auto& [k, v] : original.items()) {
    if (!kept(k)) drop.push_back(k);
  }
  for (const auto& k : drop) original.erase(k);
}

std::string field_after(const std::string& key, const std::string& prefix, const char* error) {
  const std::string field = key.substr(prefix.size());
  if (field.empty()) throw PatchError(error);
  return field;
}

// mergePatchIntoOriginal: each $setElementOrder/<field> with its list.
void apply_element_orders(Json& original, Json& patch, const std::string& path,
                          const PatchSchema& schema) {
  std::vector<std::string> keys;
  for (auto& [k, v] : patch.items()) {
    if (k.starts_with(kSetElementOrder)) keys.push_back(k);
  }
  for (const auto& key : keys) {
    const Json order = patch[key];
    patch.erase(key);
    const char* bad = "invalid patch format of setElementOrder list";
    if (!order.is_array()) throw PatchError(bad);
    const std::string field = field_after(key, kSetElementOrder, bad);
    const std::string field_path = join(path, field);
    const bool in_original = original.contains(field);
    const bool in_patch = patch.contains(field);
    if (!in_original && !in_patch) continue;
    if ((in_original && !original[field].is_array()) || (in_patch && !patch[field].is_array()))
      throw PatchError(bad);
    Json merged;
    if (in_original && !in_patch) {
      merged = original[field];
    } else if (!in_original) {
      merged = without_directives(patch[field]).value_or(Json::array());
    } else {
      merged = merge_list_field(original[field], patch[field], field_path, false, schema);
    }
    const MergeList* strategy = strategy_of(schema, field_path);
    const std::string merge_key = strategy ? strategy->merge_key : "";
    const List live = in_original ? original[field].get<List>() : List{};
    const List patched = in_patch ? patch[field].get<List>() : List{};
    const bool objects = lists_hold_objects(live, patched);
    auto [patch_items, server_only] =
        partition(merged.get<List>(), order.get<List>(), merge_key, objects);
    original[field] = normalize_order(std::move(patch_items), std::move(server_only),
                                      order.get<List>(), live, merge_key, objects);
    patch.erase(field);
  }
}

Json merge_map(Json original, Json patch, const std::string& path, const PatchSchema& schema) {
  if (patch.contains(kDirective)) {
    const Json d = patch[kDirective];
    if (d == "replace") {
      patch.erase(kDirective);
      return patch;
    }
    if (d == "delete") return Json::object();
    throw PatchError("unknown patch type: " + d.dump() + " in map: " + patch.dump());
  }
  if (original.is_null()) original = Json::object();
  retain_keys(original, patch);
  apply_element_orders(original, patch, path, schema);

  std::vector<std::string> keys;
  for (auto& [k, v] : patch.items()) keys.push_back(k);
  for (std::string key : keys) {
    Json value = patch[key];
    const bool delete_list = key.starts_with(kDeleteFromPrimitiveList);
    if (delete_list)
      key = field_after(key, kDeleteFromPrimitiveList, "invalid patch format of primitive list");
    if (value.is_null()) {
      original.erase(key);
      continue;
    }
    if (!original.contains(key) || !same_kind(original[key], value)) {
      if (!delete_list) take_patch_value(original, key, std::move(value));
      continue;
    }
    const std::string field_path = join(path, key);
    if (value.is_object()) {
      original[key] = merge_map(original[key], std::move(value), field_path, schema);
    } else if (value.is_array()) {
      original[key] = merge_list_field(original[key], value, field_path, delete_list, schema);
    } else {
      original[key] = std::move(value);
    }
  }
  return original;
}

}  // namespace

const PatchSchema& node_patch_schema() {
  static const PatchSchema schema = {
      {"metadata.finalizers", {""}},  {"metadata.ownerReferences", {"uid"}},
      {"spec.podCIDRs", {""}},        {"status.conditions", {"type"}},
      {"status.addresses", {"type"}},
  };
  return schema;
}

Json strategic_merge(Json original, Json patch, const PatchSchema& schema) {
  if (!original.is_object() || !patch.is_object()) throw PatchError("invalid JSON document");
  return merge_map(std::move(original), std::move(patch), "", schema);
}

}  // namespace tartan::testing::kube
