#pragma once
// State shared by all workers of one broker: the configuration, the retained store, the workers' cores
// and the way to post work to another worker. Everything here is either immutable after start-up,
// atomic, or guarded inside its own type (RetainedStore).
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "broker/retained_store.hpp"
#include "broker/stats.hpp"
#include "config/config.hpp"

namespace starling::broker {

class Shard;
class Security;
}  // namespace starling::broker
namespace starling::store {
class Store;
}  // namespace starling::store
namespace starling::broker {

// Implemented by the transport layer: runs a function on a worker's event loop.
class WorkerPoster {
  public:
    virtual ~WorkerPoster() = default;
    virtual void post(unsigned worker, std::function<void()> fn) = 0;
};

class Broker {
  public:
    Broker(const config::Config& config, unsigned workers);
    ~Broker();

    const config::Config& config() const { return config_; }
    void setConfig(const config::Config& c) {
        config_ = c;
    }  // start-up / reload, workers quiescent for fields they read
    unsigned workerCount() const { return static_cast<unsigned>(shards_.size()); }
    Shard& shard(unsigned i) { return *shards_[i]; }
    RetainedStore& retained() { return retained_; }

    void setPoster(WorkerPoster* p) { poster_ = p; }
    void post(unsigned worker, std::function<void()> fn) { poster_->post(worker, std::move(fn)); }

    // The worker that owns the session of `client_id` (sessions live on one worker, chosen by hash, so
    // takeover never crosses threads).
    unsigned ownerOf(std::string_view client_id) const;

    std::atomic<int64_t> connections{0};  // open sockets
    // Persistence: null when off. Set before the workers start.
    void setStore(std::unique_ptr<store::Store> s);
    store::Store* store() const { return store_.get(); }
    std::atomic<uint64_t> next_message_id{1};
    // Records the last recovery skipped because they could not be decoded (reported as a metric).
    std::atomic<uint64_t> unreadable_records{0};
    // Test-only fault injection: STARLING_FAILPOINT=kill-before-handoff makes the first worker that committed
    // a pending-route marker for another worker write its acknowledgements and then die by SIGKILL without
    // handing the message on, so a test can hit the window the markers cover every time.
    const bool failpoint_kill_before_handoff = failpointArmed("kill-before-handoff");
    // STARLING_FAILPOINT=fail-commits-while:PATH: every store commit fails while the file PATH exists.
    const std::string failpoint_fail_commits_while = failpointPath("fail-commits-while");
    static bool failpointArmed(std::string_view name);
    static std::string failpointPath(std::string_view name);
    // Persistent sessions that have a record in the store: while there are none, nothing is stored per message.
    std::atomic<int64_t> stored_sessions{0};
    // Store references to message bodies (M records) of messages with a queued delivery evicted from memory
    // (persistence_queue_memory), by message id. Once one delivery of a message is evicted, every reference
    // to its body is counted here rather than in Message::Durable (Durable::parked), so that the copies read
    // back from the store and the original, still held elsewhere, share one count and the body is deleted
    // exactly when the last record naming it goes. Touched only for such messages, under its mutex.
    struct ParkedRefs {
        std::mutex mutex;
        std::unordered_map<uint64_t, uint32_t> refs;
    } parked;

    // Bytes queued for client sockets and not yet written, over all connections (transport-maintained).
    std::atomic<int64_t> output_queued{0};
    static constexpr int64_t kOutputHigh = 64ll << 20;
    std::atomic<uint64_t> next_link_id{1};
    uint64_t start_time_ms() const { return start_ms_; }
    bool allowAnonymous() const;

    // Authentication and authorisation, swapped whole on reload; workers cache it per generation.
    void setSecurity(std::shared_ptr<const Security> s) {
        security_.store(std::move(s));
        security_generation_.fetch_add(1, std::memory_order_release);
    }
    std::shared_ptr<const Security> security() const { return security_.load(); }
    uint64_t securityGeneration() const { return security_generation_.load(std::memory_order_acquire); }

    StatsSnapshot stats() const;
    // True while some worker has more cross-worker messages waiting than its high watermark: publishers
    // are then read more slowly instead of buffering without bound.
    bool overloaded() const;

  private:
    config::Config config_;
    RetainedStore retained_;
    std::vector<std::unique_ptr<Shard>> shards_;
    WorkerPoster* poster_ = nullptr;
    uint64_t start_ms_;
    std::atomic<std::shared_ptr<const Security>> security_;
    std::unique_ptr<store::Store> store_;
    std::atomic<uint64_t> security_generation_{0};
};

}  // namespace starling::broker
