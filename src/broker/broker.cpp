#include "broker/broker.hpp"

#include <chrono>
#include <cstdlib>
#include <functional>

#include "broker/shard.hpp"
#include "store/store.hpp"

namespace starling::broker {

namespace {
uint64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}
}  // namespace

Broker::Broker(const config::Config& config, unsigned workers) : config_(config), start_ms_(nowMs()) {
    if (workers == 0) workers = 1;
    if (workers > 64) workers = 64;  // route index keeps workers in a 64-bit set
    for (unsigned i = 0; i < workers; ++i)
        shards_.push_back(std::make_unique<Shard>(*this, i));
}

Broker::~Broker() = default;

bool Broker::failpointArmed(std::string_view name) {
    const char* armed = std::getenv("STARLING_FAILPOINT");
    return armed && name == armed;
}

std::string Broker::failpointPath(std::string_view name) {
    const char* armed = std::getenv("STARLING_FAILPOINT");
    if (!armed) return {};
    std::string_view v(armed);
    if (!v.starts_with(name) || v.size() <= name.size() + 1 || v[name.size()] != ':') return {};
    return std::string(v.substr(name.size() + 1));
}

void Broker::setStore(std::unique_ptr<store::Store> s) {
    store_ = std::move(s);
    for (auto& shard : shards_)
        shard->attachStore(store_.get());
}

unsigned Broker::ownerOf(std::string_view client_id) const {
    // FNV-1a: stable across runs, so a persisted session is found on the same worker after a restart.
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : client_id) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return static_cast<unsigned>(h % shards_.size());
}

bool Broker::allowAnonymous() const {
    // Mosquitto 2 semantics: with no listener configured the broker is local-only and open; once a
    // listener is configured, anonymous access must be asked for.
    return config_.allow_anonymous.value_or(config_.listeners.empty());
}

StatsSnapshot Broker::stats() const {
    StatsSnapshot s;
    for (auto& shard : shards_)
        s.add(shard->stats());
    return s;
}

bool Broker::overloaded() const {
    // Deliveries pile up in socket buffers faster than clients read them: read publishers more slowly.
    if (output_queued.load(std::memory_order_relaxed) > kOutputHigh) return true;
    for (auto& shard : shards_) {
        if (shard->backlog() > Shard::kBacklogHigh) return true;
    }
    return false;
}

const char* closeReasonText(CloseReason r) {
    switch (r) {
        case CloseReason::kNone:
            return "unknown";
        case CloseReason::kClientDisconnect:
            return "client disconnected";
        case CloseReason::kClientDisconnectWithWill:
            return "client disconnected with will";
        case CloseReason::kSocketClosed:
            return "connection closed by peer";
        case CloseReason::kKeepAliveTimeout:
            return "keep-alive timeout";
        case CloseReason::kProtocolError:
            return "protocol error";
        case CloseReason::kTakenOver:
            return "session taken over";
        case CloseReason::kLimitExceeded:
            return "limit exceeded";
        case CloseReason::kNotAuthorized:
            return "connection refused";
        case CloseReason::kServerShutdown:
            return "server shutting down";
        case CloseReason::kAdministrative:
            return "disconnected by an administrator";
    }
    return "unknown";
}

}  // namespace starling::broker
