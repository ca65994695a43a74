#pragma once
// Small pieces the pub/sub/rr mains share: mosquitto's CONNACK texts, the usage hint, a stop flag set by
// SIGINT/SIGTERM and polled on the loop. Main thread only.
#include <cstdint>
#include <string>

#include "client/event_loop.hpp"
#include "protocol/types.hpp"
#include "tools/common/client_config.hpp"

namespace starling::tools {

inline constexpr int kExitTimedOut = 27;  // MOSQ_ERR_TIMEOUT, what mosquitto's tools return on -W

// "Connection Refused: not authorised." (3.1.x) or "Not authorized" (v5), as mosquitto prints them.
std::string connackText(protocol::ProtocolVersion v, uint8_t code);

// Prints `error` then "\nUse '<tool> --help' to see usage." on stderr.
void printUsageHint(const std::string& error, const char* tool);

// Writes to stderr unless --quiet.
void errPrintf(const ClientConfig& cfg, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Installs SIGINT/SIGTERM handlers; `on_signal` runs on the loop (polled every 50 ms) after a signal.
class SignalWatch {
  public:
    SignalWatch(client::EventLoop& loop, std::function<void()> on_signal);
    ~SignalWatch();

  private:
    void poll();
    client::EventLoop& loop_;
    client::Timer timer_;
    std::function<void()> on_signal_;
};

std::string starlingVersion();

}  // namespace starling::tools
