#pragma once
// Sets up the process-wide logger from the log_* directives (Mosquitto's log_dest, log_type,
// log_timestamp, log_timestamp_format). Called by the main thread at start-up and on SIGHUP.
#include "config/config.hpp"

namespace starling::app {

// `verbose` (-v) enables every log type, as Mosquitto's -v does.
void configureLogging(const config::Config& cfg, bool verbose);

}  // namespace starling::app
