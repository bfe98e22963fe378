// Strategic merge patch (application/strategic-merge-patch+json) applied the
// way k8s.io/apimachinery/pkg/util/strategicpatch/patch.go applies it
// (StrategicMergeMapPatch: mergeMap, mergeSlice, the $patch, $retainKeys,
// $setElementOrder/ and $deleteFromPrimitiveList/ directives, and the order
// of merged lists), for the fields of a Node the Go structs tag with
// patchStrategy:"merge". Written here because no C++ library implements it.
#pragma once

#include <map>
#include <stdexcept>
#include <string>

#include "tests/support/kube/status.h"

namespace tartan::testing::kube {

// A list field whose patchStrategy is "merge": merged by `merge_key` when it
// holds objects, as a set when it holds scalars (empty merge_key). Every
// other list is replaced by the patch, every object merged key by key.
struct MergeList {
  std::string merge_key;
};
// Keyed by the field's path from the object's root, "status.conditions".
using PatchSchema = std::map<std::string, MergeList>;

// k8s.io/api/core/v1 Node and k8s.io/apimachinery ObjectMeta:
// metadata.finalizers, metadata.ownerReferences (uid), spec.podCIDRs,
// status.conditions (type), status.addresses (type).
const PatchSchema& node_patch_schema();

// A patch the algorithm refuses (the server answers 400 with its message).
struct PatchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// `original` with `patch` applied; both must be JSON objects.
Json strategic_merge(Json original, Json patch, const PatchSchema& schema);

}  // namespace tartan::testing::kube
