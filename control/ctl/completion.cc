#include "control/ctl/completion.h"

#include <vector>

namespace tartan::ctl {
namespace {

std::string joined(const std::vector<std::string>& words) {
  std::string s;
  for (const std::string& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

// "TEXT:{json,table,yaml}" (CLI::IsMember's part of the type name) gives
// "json table yaml"; "" for values that are not from a fixed set.
std::string choices(const CLI::Option& opt) {
  const std::string type = opt.get_type_name();
  const size_t open = type.find('{'), close = type.find('}');
  if (open == std::string::npos || close == std::string::npos || close < open) return "";
  std::string set = type.substr(open + 1, close - open - 1);
  for (char& c : set) {
    if (c == ',') c = ' ';
  }
  return set;
}

// One `case` arm per command path ("" for tartanctl itself, "nodes get"...):
// its subcommands, its options, those of them taking a value, and the
// choices of each value (a positional's under the name "-").
void describe(const CLI::App& app, const std::string& path, std::string& subcommands,
              std::string& options, std::string& valued, std::string& values) {
  std::vector<std::string> subs, opts, with_value;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    subs.push_back(sub->get_name());
    describe(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), subcommands,
             options, valued, values);
  }
  for (const CLI::Option* opt : app.get_options()) {
    std::vector<std::string> names;
    for (const std::string& s : opt->get_snames()) names.push_back("-" + s);
    for (const std::string& l : opt->get_lnames()) names.push_back("--" + l);
    const std::string set = choices(*opt);
    if (names.empty()) {  // a positional
      if (!set.empty()) values += "    \"" + path + ":-\") echo \"" + set + "\" ;;\n";
      continue;
    }
    opts.insert(opts.end(), names.begin(), names.end());
    if (opt->get_type_size_max() == 0) continue;  // a flag
    with_value.insert(with_value.end(), names.begin(), names.end());
    for (const std::string& n : names)
      values +=
          "    \"" + path + ":" + n + "\") echo \"" + (set.empty() ? "-files-" : set) + "\" ;;\n";
  }
  subcommands += "    \"" + path + "\") echo \"" + joined(subs) + "\" ;;\n";
  options += "    \"" + path + "\") echo \"" + joined(opts) + "\" ;;\n";
  for (const std::string& n : with_value) valued += "    \"" + path + ":" + n + "\") return 0 ;;\n";
}

}  // namespace

std::string completion_script(const CLI::App& app, const std::string& shell) {
  std::string subcommands, options, valued, values;
  describe(app, "", subcommands, options, valued, values);
  const std::string name = app.get_name();
  std::string script =
      "# " + shell + " completion for " + name + " (`" + name + " completion " + shell + "`)\n";
  if (shell == "zsh") script += "autoload -U +X bashcompinit && bashcompinit\n";
  script += "_" + name + "_subcommands() {\n  case \"$1\" in\n" + subcommands + "  esac\n}\n_" +
            name + "_options() {\n  case \"$1\" in\n" + options + "  esac\n}\n_" + name +
            "_takes_value() {\n  case \"$1:$2\" in\n" + valued + "  esac\n  return 1\n}\n_" + name +
            "_values() {\n  case \"$1:$2\" in\n" + values + "  esac\n}\n";
  // Walks the words before the cursor: a word naming a subcommand of the
  // path so far extends it; an option's value (separate word) is skipped.
  script += "_" + name + "() {\n" +
            "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
            "  local path=\"\" i w skip=0\n"
            "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
            "    w=${COMP_WORDS[i]}\n"
            "    if ((skip)); then skip=0; continue; fi\n"
            "    if [[ $w == -* ]]; then\n"
            "      [[ $w != *=* ]] && _" +
            name +
            "_takes_value \"$path\" \"$w\" && skip=1\n"
            "      continue\n"
            "    fi\n"
            "    if [[ \" $(_" +
            name +
            "_subcommands \"$path\") \" == *\" $w \"* ]]; then\n"
            "      path=\"${path:+$path }$w\"\n"
            "    fi\n"
            "  done\n"
            "  local choices\n"
            "  if [[ $prev == -* ]] && _" +
            name +
            "_takes_value \"$path\" \"$prev\"; then\n"
            "    choices=$(_" +
            name +
            "_values \"$path\" \"$prev\")\n"
            "  elif [[ $cur == -* ]]; then\n"
            "    choices=$(_" +
            name +
            "_options \"$path\")\n"
            "  else\n"
            "    choices=\"$(_" +
            name + "_subcommands \"$path\") $(_" + name +
            "_values \"$path\" -)\"\n"
            "  fi\n"
            "  if [[ $choices == -files- ]]; then\n"
            "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
            "  else\n"
            "    COMPREPLY=($(compgen -W \"$choices\" -- \"$cur\"))\n"
            "  fi\n"
            "}\n"
            "complete -F _" +
            name + " " + name + "\n";
  return script;
}

}  // namespace tartan::ctl
