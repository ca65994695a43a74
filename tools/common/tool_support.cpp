#include "tools/common/tool_support.hpp"

#include <atomic>
#include <csignal>
#include <cstdarg>
#include <cstdio>

#include "util/version.hpp"

namespace starling::tools {
namespace {

std::atomic<bool> g_signalled{false};
extern "C" void onSignal(int) {
    g_signalled = true;
}

}  // namespace

std::string connackText(protocol::ProtocolVersion v, uint8_t code) {
    if (v == protocol::ProtocolVersion::kV5) {
        return std::string(
            protocol::reasonCodeName(static_cast<protocol::ReasonCode>(code), protocol::PacketType::kConnack));
    }
    switch (code) {
        case 0:
            return "Connection Accepted.";
        case 1:
            return "Connection Refused: unacceptable protocol version.";
        case 2:
            return "Connection Refused: identifier rejected.";
        case 3:
            return "Connection Refused: broker unavailable.";
        case 4:
            return "Connection Refused: bad user name or password.";
        case 5:
            return "Connection Refused: not authorised.";
        default:
            return "Connection Refused: unknown reason.";
    }
}

void printUsageHint(const std::string& error, const char* tool) {
    std::fputs(error.c_str(), stderr);
    std::fprintf(stderr, "\nUse '%s --help' to see usage.\n", tool);
}

void errPrintf(const ClientConfig& cfg, const char* fmt, ...) {
    if (cfg.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
}

SignalWatch::SignalWatch(client::EventLoop& loop, std::function<void()> on_signal)
    : loop_(loop), timer_(loop), on_signal_(std::move(on_signal)) {
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    poll();
}

SignalWatch::~SignalWatch() {
    timer_.cancel();
}

void SignalWatch::poll() {
    timer_.start(std::chrono::milliseconds(50), [this] {
        if (g_signalled.exchange(false)) {
            on_signal_();
        }
        poll();
    });
}

std::string starlingVersion() {
    return kVersion;
}

}  // namespace starling::tools
