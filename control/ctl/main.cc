// tartanctl: the admin client of tartand's tartan.v1 gRPC API.
#include <string>
#include <vector>

#include "control/ctl/command_line.h"

int main(int argc, char** argv) {
  tartan::ctl::CommandLine command_line;
  if (auto done = command_line.parse(std::vector<std::string>(argv, argv + argc))) return *done;
  return command_line.run();
}
