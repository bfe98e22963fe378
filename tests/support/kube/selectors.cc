#include "tests/support/kube/selectors.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

namespace tartan::testing::kube {
namespace {

// Tokens of labels.Parse's lexer: the operators and punctuation below, and
// identifiers (any run of other non-blank characters; "in" and "notin"
// among them).
class LabelLexer {
 public:
  explicit LabelLexer(const std::string& s) : s_(s) {}

  // The next token, "" at the end.
  std::string next() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ >= s_.size()) return "";
    for (const char* op : {"!=", "==", "=", "!", ",", "(", ")", ">", "<"}) {
      if (s_.compare(pos_, std::char_traits<char>::length(op), op) == 0) {
        pos_ += std::char_traits<char>::length(op);
        return op;
      }
    }
    const size_t start = pos_;
    while (pos_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[pos_])) &&
           std::string("!=,()<>").find(s_[pos_]) == std::string::npos)
      ++pos_;
    return s_.substr(start, pos_ - start);
  }

  std::string peek() {
    const size_t saved = pos_;
    std::string t = next();
    pos_ = saved;
    return t;
  }

 private:
  const std::string& s_;
  size_t pos_ = 0;
};

bool is_operator(const std::string& t) {
  for (const char* op : {"", "!=", "==", "=", "!", ",", "(", ")", ">", "<"}) {
    if (t == op) return true;
  }
  return false;
}

[[noreturn]] void unparsable(const std::string& found, const std::string& expected) {
  throw SelectorError("unable to parse requirement: found '" + found + "', expected: " + expected);
}

std::string identifier(LabelLexer& lex) {
  const std::string t = lex.next();
  if (is_operator(t)) unparsable(t, "identifier");
  return t;
}

std::optional<long long> integer(const std::string& s) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// fields.ParseSelector: terms split at unescaped commas, each "f=v", "f==v"
// or "f!=v"; a backslash escapes the next character.
std::vector<std::string> split_unescaped(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      out.back() += s.substr(i, 2);
      ++i;
    } else if (s[i] == sep) {
      out.emplace_back();
    } else {
      out.back() += s[i];
    }
  }
  return out;
}

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

// The value of a selectable field of a Node, nullopt when not selectable.
std::optional<std::string> node_field(const Json& node, const std::string& field) {
  if (field == "metadata.name") return node["metadata"].value("name", "");
  if (field == "spec.unschedulable") {
    const bool u = node.contains("spec") && node["spec"].value("unschedulable", false);
    return u ? "true" : "false";
  }
  return std::nullopt;
}

}  // namespace

Selector::Selector(const std::string& label_selector, const std::string& field_selector)
    : labels_(parse_labels(label_selector)), fields_(parse_fields(field_selector)) {}

std::vector<Selector::LabelRequirement> Selector::parse_labels(const std::string& s) {
  std::vector<LabelRequirement> out;
  LabelLexer lex(s);
  if (lex.peek().empty()) return out;
  while (true) {
    LabelRequirement r;
    if (lex.peek() == "!") {
      lex.next();
      r = {identifier(lex), Op::kNotExists, {}};
    } else {
      r.key = identifier(lex);
      const std::string op = lex.peek();
      if (op.empty() || op == ",") {
        r.op = Op::kExists;
      } else if (op == "=" || op == "==" || op == "!=") {
        lex.next();
        r.op = op == "!=" ? Op::kNotEquals : Op::kEquals;
        const std::string value = lex.peek();
        if (value.empty() || value == ",") {
          r.values = {""};
        } else {
          r.values = {identifier(lex)};
        }
      } else if (op == "in" || op == "notin") {
        lex.next();
        r.op = op == "in" ? Op::kIn : Op::kNotIn;
        if (const std::string t = lex.next(); t != "(") unparsable(t, "'('");
        while (lex.peek() != ")") {
          r.values.push_back(identifier(lex));
          if (lex.peek() == ",") lex.next();
        }
        lex.next();
      } else if (op == ">" || op == "<") {
        lex.next();
        r.op = op == ">" ? Op::kGreater : Op::kLess;
        r.values = {identifier(lex)};
        if (!integer(r.values[0]))
          throw SelectorError(
              "unable to parse requirement: for 'Gt', 'Lt' operators, the value "
              "must be an integer");
      } else {
        unparsable(op, "'=', '!=', '==', 'in', 'notin', '>' or '<'");
      }
    }
    out.push_back(std::move(r));
    const std::string t = lex.next();
    if (t.empty()) return out;
    if (t != ",") unparsable(t, "','");
  }
}

std::vector<Selector::FieldRequirement> Selector::parse_fields(const std::string& s) {
  std::vector<FieldRequirement> out;
  if (s.empty()) return out;
  for (const std::string& term : split_unescaped(s, ',')) {
    FieldRequirement r;
    size_t at = std::string::npos, len = 0;
    for (const char* op : {"!=", "==", "="}) {
      at = term.find(op);
      if (at != std::string::npos) {
        len = std::char_traits<char>::length(op);
        r.equals = std::string(op) != "!=";
        break;
      }
    }
    if (at == std::string::npos)
      throw SelectorError("invalid selector: '" + s + "'; can't understand '" + term + "'");
    r.field = unescape(term.substr(0, at));
    r.value = unescape(term.substr(at + len));
    if (r.field != "metadata.name" && r.field != "spec.unschedulable")
      throw SelectorError("field label not supported: " + r.field);
    out.push_back(std::move(r));
  }
  return out;
}

bool Selector::matches(const Json& node) const {
  const Json& meta = node["metadata"];
  const Json labels = meta.contains("labels") ? meta["labels"] : Json::object();
  for (const auto& r : labels_) {
    const bool has = labels.contains(r.key);
    const std::string value =
        has && labels[r.key].is_string() ? labels[r.key].get<std::string>() : "";
    const bool listed = std::find(r.values.begin(), r.values.end(), value) != r.values.end();
    bool ok = false;
    switch (r.op) {
      case Op::kExists:
        ok = has;
        break;
      case Op::kNotExists:
        ok = !has;
        break;
      case Op::kEquals:
      case Op::kIn:
        ok = has && listed;
        break;
      case Op::kNotEquals:
      case Op::kNotIn:
        ok = !has || !listed;
        break;
      case Op::kGreater:
      case Op::kLess: {
        const auto have = integer(value);
        const long long want = *integer(r.values[0]);
        ok = has && have && (r.op == Op::kGreater ? *have > want : *have < want);
        break;
      }
    }
    if (!ok) return false;
  }
  for (const auto& r : fields_) {
    if ((node_field(node, r.field) == r.value) != r.equals) return false;
  }
  return true;
}

}  // namespace tartan::testing::kube
