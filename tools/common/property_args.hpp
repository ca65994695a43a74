#pragma once
// The -D / --property argument: `-D <command> <property> <value>` (user-property takes name and value), with
// mosquitto's names, checks and messages. Pure; any thread.
#include <string>

#include "tools/common/client_config.hpp"

namespace starling::tools {

// `idx` points at the command word; on success it is left at the last word consumed.
bool parsePropertyArg(ClientConfig& cfg, int argc, const char* const* argv, int& idx, std::string& error);

}  // namespace starling::tools
