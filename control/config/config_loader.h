// Reads tartand's YAML config (yaml-cpp). Every error names the file, line,
// column and key; nothing is applied from a config that fails.
#pragma once

#include <string>
#include <string_view>

#include "control/config/config.h"
#include "engine/status.h"

namespace tartan {

// `source_name` is used in error messages ("/etc/tartan/tartan.yaml").
Result<Config> parse_config(std::string_view yaml_text, const std::string& source_name);

Result<Config> load_config_file(const std::string& path);

// control.listen as given (also after --listen replaced it): a unix socket
// path must be absolute, and TCP needs control.tls.cert and key.
Status check_control_listen(const ControlConfig& control);

// The engine's backend settings and the overlay ports' MTU from
// config.network, once it is settled (with lease.source etcd and no
// network section, after <prefix>/config was read).
void derive_from_network(Config& config);

// The config built into tartand (configs/tartan.yaml).
Result<Config> load_default_config();

// The effective config, every default filled in, as YAML that parse_config
// accepts again.
std::string config_to_yaml(const Config& config);

}  // namespace tartan
