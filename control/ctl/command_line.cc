#include "control/ctl/command_line.h"

#include <cstdio>
#include <cstdlib>

#include "control/ctl/completion.h"
#include "version.h"

namespace tartan::ctl {
namespace {

constexpr const char* kGlobalGroup = "Global options";

void add_global_options(CLI::App& app, GlobalOptions& g, std::string& output) {
  app.add_option("-s,--socket", g.socket,
                 "unix socket of tartand (default /run/tartan/tartan.sock, or $TARTAN_SOCKET)")
      ->type_name("PATH")
      ->group(kGlobalGroup);
  app.add_option("--addr", g.addr, "connect over TCP with TLS instead")
      ->type_name("HOST:PORT")
      ->group(kGlobalGroup);
  app.add_option("--tls-ca", g.tls_ca, "CA that signed tartand's certificate (with --addr)")
      ->type_name("FILE")
      ->check(CLI::Validator(CLI::ExistingFile).description(""))
      ->group(kGlobalGroup);
  app.add_option("--tls-cert", g.tls_cert, "client certificate for mutual TLS (with --addr)")
      ->type_name("FILE")
      ->check(CLI::Validator(CLI::ExistingFile).description(""))
      ->group(kGlobalGroup);
  app.add_option("--tls-key", g.tls_key, "client key for mutual TLS (with --addr)")
      ->type_name("FILE")
      ->check(CLI::Validator(CLI::ExistingFile).description(""))
      ->group(kGlobalGroup);
  app.add_option("-o,--output", output, "table (default), json or yaml")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"table", "json", "yaml"}))
      ->group(kGlobalGroup);
  app.add_option("--timeout", g.timeout_seconds, "per-call deadline in seconds (default 5)")
      ->type_name("SEC")
      ->check(CLI::Range(1, 3600))
      ->group(kGlobalGroup);
}

// Every command and subcommand takes the global options, so they go anywhere
// on the line and each --help lists them.
void add_global_options_everywhere(CLI::App& app, GlobalOptions& g, std::string& output) {
  add_global_options(app, g, output);
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    add_global_options_everywhere(*sub, g, output);
}

// The deepest command the parser entered ("nodes get").
const CLI::App& deepest_command(const CLI::App& app) {
  const auto parsed = app.get_subcommands();
  return parsed.empty() ? app : deepest_command(*parsed.back());
}

std::string command_path(const CLI::App& app) {
  std::string path;
  for (const CLI::App* at = &deepest_command(app); at->get_parent(); at = at->get_parent())
    path = at->get_name() + (path.empty() ? "" : " ") + path;
  return path;
}

// CLI11's "NAME is required" becomes "missing NAME", as kubectl and
// etcdctl word it; a missing or unknown command lists the known ones.
std::string usage_message(const CLI::App& app, const CLI::Error& e) {
  std::string what = e.what();
  const std::string required = " is required";
  if (e.get_name() != "RequiredError" || what.size() <= required.size() ||
      what.compare(what.size() - required.size(), required.size(), required) != 0)
    return what;
  what = what.substr(0, what.size() - required.size());
  if (what != "A subcommand") return "missing " + what;
  const CLI::App& at = deepest_command(app);
  std::string known;
  for (const CLI::App* sub : at.get_subcommands([](const CLI::App*) { return true; }))
    known += (known.empty() ? "" : ", ") + sub->get_name();
  const std::vector<std::string> extra = at.remaining();
  return (extra.empty() ? std::string("missing COMMAND") : "unknown command '" + extra[0] + "'") +
         " (one of " + known + ")";
}

}  // namespace

CommandLine::CommandLine()
    : app_("Admin client for tartand (tartan.v1 gRPC API), in the style of kubectl and etcdctl.",
           "tartanctl") {
  if (const char* env = std::getenv("TARTAN_SOCKET")) global_.socket = env;
  app_.footer(
      "Exit status: 0 on success, 1 when tartand reports an error (its message is printed) or\n"
      "cannot be reached, 2 on a bad command line.");
  app_.set_version_flag("-V,--version", std::string("tartanctl ") + kTartanVersion);
  app_.require_subcommand(1);
  add_node_commands(app_, global_, action_);
  add_info_commands(app_, global_, action_);
  add_port_commands(app_, global_, action_);
  add_capture_commands(app_, global_, action_);
  add_trace_commands(app_, global_, action_);
  CLI::App* completion =
      app_.add_subcommand("completion", "print a completion script for bash or zsh");
  completion->add_option("SHELL", shell_, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  completion->footer(
      "bash: source <(tartanctl completion bash), or save it as\n"
      "/usr/share/bash-completion/completions/tartanctl.\n"
      "zsh: source <(tartanctl completion zsh) in ~/.zshrc.");
  completion->callback([this] {
    action_ = [this] {
      std::printf("%s", completion_script(app_, shell_).c_str());
      return kExitOk;
    };
  });
  add_global_options_everywhere(app_, global_, output_);
}

std::optional<int> CommandLine::parse(const std::vector<std::string>& argv) {
  std::vector<std::string> args(argv.rbegin(), argv.rend() - 1);  // CLI11 takes them reversed
  try {
    app_.parse(args);
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app_.help().c_str());
    return kExitOk;
  } catch (const CLI::CallForVersion& e) {
    std::printf("%s\n", e.what());
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    const std::string path = command_path(app_);
    std::fprintf(stderr, "tartanctl: %s%s\nRun 'tartanctl %s%s--help' for usage.\n",
                 path.empty() ? "" : (path + ": ").c_str(), usage_message(app_, e).c_str(),
                 path.c_str(), path.empty() ? "" : " ");
    return kExitUsage;
  }
  global_.output = output_ == "json"   ? Output::kJson
                   : output_ == "yaml" ? Output::kYaml
                                       : Output::kTable;
  return std::nullopt;
}

}  // namespace tartan::ctl
