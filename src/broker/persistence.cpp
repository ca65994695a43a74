// Persistence: what the broker core writes to the embedded store, and recovery at start-up.
//
// The rule: a PUBACK/PUBREC goes out only after the batch holding what it promises is committed. Each
// worker fills one batch per loop turn and commits it in Shard::flush(), before the turn's output is
// written (Worker::endTurn). A QoS 1/2 message that some worker's subscribers match is stored once (M)
// together with one "pending route" marker per target worker (P/id/worker) in the publisher's batch. Each
// target deletes its marker in the same batch as the queued and in-flight records it creates for the
// message, so after a crash a surviving marker means exactly: that worker's persistent subscribers did not
// get their records yet; recovery routes the message to them again. A shared subscription's choice of a member
// on another worker is in the marker's value (the group keys), so recovery hands the message to that group.
//
// Offline queues beyond persistence_queue_memory: each worker keeps the messages of its offline sessions'
// stored queued deliveries in memory up to its share of the limit. Beyond it a delivery is evicted: it keeps
// its Q record and the id of the body (M), drops its reference to the Message, and the body is read back
// from the store when the session reconnects and the delivery is about to be sent. An evicted delivery's
// reference to the body stays counted (Broker::parked), so the body outlives the last in-memory copy.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "broker/clock.hpp"
#include "broker/shard.hpp"
#include "store/store.hpp"

namespace starling::broker {

using protocol::QoS;
using store::Kind;

namespace {

struct SpinGuard {
    explicit SpinGuard(std::atomic_flag& f) : flag(f) {
        while (flag.test_and_set(std::memory_order_acquire)) {
        }
    }
    ~SpinGuard() { flag.clear(std::memory_order_release); }
    std::atomic_flag& flag;
};

// The exit status when the store cannot be written or read: the broker stops rather than acknowledge what it
// cannot keep.
constexpr int kExitStoreFailure = 3;

std::string encodeMessage(const Message& m) {
    store::Writer w;
    w.u8(static_cast<uint8_t>(m.qos())).u8(m.retain() ? 1 : 0).u64(m.expiresAtMs());
    w.str(m.topic()).str(m.properties()).str(m.payload());
    return w.data();
}

// The fields of an encoded message, as views into `value`.
bool readMessage(std::string_view value, Message::Init& init) {
    store::Reader r(value);
    init.qos = static_cast<QoS>(r.u8() & 3);
    init.retain = r.u8() != 0;
    init.expires_at_ms = r.u64();
    init.topic = r.str();
    init.properties = r.str();
    init.payload = r.str();
    return r.ok();
}

MessagePtr decodeMessage(std::string_view value) {
    Message::Init init;
    if (!readMessage(value, init)) return {};
    return Message::create(init);
}

// A stored message body (M record) by id; null when it is missing or unreadable, `error` says which.
MessagePtr readStoredMessage(const store::Store& st, uint64_t id, std::string& error) {
    std::string value;
    if (!st.get(store::key(Kind::kMessage, id), value, error)) {
        if (error.empty()) error = "missing";
        return {};
    }
    auto m = decodeMessage(value);
    if (!m) {
        error = "unreadable";
        return {};
    }
    m->durable().id = id;
    return m;
}

// The retained messages in the store (R records), for the retained store beyond its memory budget.
class StoreRetainedDisk final : public RetainedDisk {
  public:
    explicit StoreRetainedDisk(const store::Store& st) : st_(st) {}
    bool contains(std::string_view topic) const override {
        std::string error;
        bool found = st_.contains(store::key(Kind::kRetained, topic), error);
        if (!error.empty()) spdlog::error("Retained message of {} cannot be read: {}.", topic, error);
        return found;
    }
    MessagePtr get(std::string_view topic) const override {
        std::string value, error;
        if (st_.get(store::key(Kind::kRetained, topic), value, error)) return decode(value);
        if (!error.empty()) spdlog::error("Retained message of {} cannot be read: {}.", topic, error);
        return {};
    }
    void scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) const override {
        std::string error;
        st_.scan(Kind::kRetained, prefix, fn, error);
        if (!error.empty()) spdlog::error("Retained messages under '{}' cannot all be read: {}.", prefix, error);
    }
    MessagePtr decode(std::string_view value) const override { return decodeMessage(value); }

  private:
    const store::Store& st_;
};

// May this queued delivery's message be evicted from memory? Only when it is stored (memory-only ones
// cannot be read back) and not through a shared subscription (those are handed to another member, message
// and all, when the session ends: redistributeShared).
bool evictable(const QueuedDelivery& d) {
    return d.message && d.seq && d.shared.empty();
}

uint8_t encodeOptions(const protocol::SubscriptionOptions& o) {
    return static_cast<uint8_t>(static_cast<uint8_t>(o.qos) | (o.no_local ? 4 : 0) | (o.retain_as_published ? 8 : 0) |
                                (o.retain_handling << 4));
}

protocol::SubscriptionOptions decodeOptions(uint8_t b) {
    protocol::SubscriptionOptions o;
    o.qos = static_cast<QoS>(b & 3);
    o.no_local = b & 4;
    o.retain_as_published = b & 8;
    o.retain_handling = static_cast<uint8_t>((b >> 4) & 3);
    return o;
}

void writeIds(store::Writer& w, const std::vector<uint32_t>& ids) {
    w.u16(static_cast<uint16_t>(ids.size()));
    for (uint32_t id : ids)
        w.u32(id);
}

std::vector<uint32_t> readIds(store::Reader& r) {
    std::vector<uint32_t> ids(r.u16());
    for (auto& id : ids)
        id = r.u32();
    return ids;
}

std::string pendingKey(uint64_t id, unsigned worker) {
    std::string k = store::key(Kind::kPending, id);
    k.push_back(static_cast<char>(worker));
    return k;
}

}  // namespace

uint64_t Shard::retainDurable(const Message& m) {
    auto& d = m.durable();
    SpinGuard g(d.lock);
    if (d.parked) {
        std::lock_guard lock(broker_.parked.mutex);
        auto it = broker_.parked.refs.find(d.id);
        if (it != broker_.parked.refs.end()) {
            ++it->second;
            return d.id;
        }
        // Every record of that body went and it was deleted: a new body, counted here again.
        d.parked = false;
        d.refs = 0;
    }
    if (d.refs++ == 0) {
        // The first record to refer to it stores the body, under a fresh id (an old one may be being deleted).
        d.id = broker_.next_message_id.fetch_add(1, std::memory_order_relaxed);
        batch_.put(store::key(Kind::kMessage, d.id), encodeMessage(m));
    }
    return d.id;
}

void Shard::releaseDurable(const Message& m) {
    auto& d = m.durable();
    SpinGuard g(d.lock);
    if (d.parked) return releaseParked(d.id);
    if (d.refs == 0) return;
    if (--d.refs == 0) batch_.del(store::key(Kind::kMessage, d.id));
}

void Shard::releaseParked(uint64_t message_id) {
    std::lock_guard lock(broker_.parked.mutex);
    auto it = broker_.parked.refs.find(message_id);
    if (it == broker_.parked.refs.end()) return;
    if (--it->second == 0) {
        broker_.parked.refs.erase(it);
        batch_.del(store::key(Kind::kMessage, message_id));
    }
}

uint64_t Shard::queueMemoryShare() const {
    const uint64_t limit = broker_.config().persistence_queue_memory;
    if (!store_ || !limit) return std::numeric_limits<uint64_t>::max();
    return std::max<uint64_t>(limit / broker_.workerCount(), 1);
}

// Which entries go first: the newest. The oldest entries of a queue are the ones a reconnecting client
// gets first [MQTT-4.6.0-6 order], so keeping them resident lets a reconnect start at once while the rest
// is read back in order behind it; and evicting the entry just queued is O(1) per message, where "longest
// queue first" would need the queues kept sorted by length. The cost: a queue that fills the share alone
// keeps the share resident until it is drained.
void Shard::chargeOfflineQueue(Session& s, bool evict) {
    dischargeOfflineQueue(s);
    for (const auto& d : s.queue)
        if (d.message && d.seq) s.resident_offline_bytes += d.message->size();
    offline_queue_bytes_ += s.resident_offline_bytes;
    if (!evict) return;
    const uint64_t share = queueMemoryShare();
    for (size_t i = s.queue.size(); i-- > 0 && offline_queue_bytes_ > share;)
        if (evictable(s.queue.at(i))) evictQueued(s, s.queue.at(i));
}

void Shard::dischargeOfflineQueue(Session& s) {
    offline_queue_bytes_ -= s.resident_offline_bytes;
    s.resident_offline_bytes = 0;
}

void Shard::chargeQueued(Session& s, QueuedDelivery& d) {
    if (!d.seq) return;
    const uint64_t size = d.message->size();
    s.resident_offline_bytes += size;
    offline_queue_bytes_ += size;
    // Under the share before this one (see chargeOfflineQueue): evicting it is enough.
    if (offline_queue_bytes_ > queueMemoryShare() && evictable(d)) evictQueued(s, d);
}

void Shard::evictQueued(Session& s, QueuedDelivery& d) {
    const Message& m = *d.message;
    const size_t size = m.size();
    {
        // The delivery keeps its reference to the body; from now on every reference to it is counted in
        // Broker::parked, which this message's copies read back later share.
        auto& dur = m.durable();
        SpinGuard g(dur.lock);
        if (!dur.parked) {
            std::lock_guard lock(broker_.parked.mutex);
            broker_.parked.refs[dur.id] += dur.refs;
            dur.parked = true;
        }
        d.message_id = dur.id;
    }
    d.evicted_bytes = static_cast<uint32_t>(size);
    d.message.reset();
    s.resident_offline_bytes -= size;
    offline_queue_bytes_ -= size;
    stats_.queued_evicted.add();
}

bool Shard::reloadQueued(Session& s, QueuedDelivery& d) {
    stats_.queued_evicted.sub();
    // The body may still be in this turn's batch (queued, evicted and now sent in one turn): commit it first.
    // Committing early only makes what the turn promises durable sooner.
    if (!batch_.empty()) commitStore(systemNowMs());
    std::string error;
    MessagePtr m = readStoredMessage(*store_, d.message_id, error);
    if (!m) {
        stats_.queued_lost.add();
        spdlog::error("Queued message {} for client {} cannot be read back from the store ({}); skipped.", d.message_id,
                      s.clientId(), error);
        unstoreQueued(s, d, true);
        return false;
    }
    m->durable().parked = true;  // its references are already counted there
    d.message = std::move(m);
    return true;
}

void Shard::storeSession(const Session& s) {
    if (!store_) return;
    if (!s.persistent) {
        // A stored session resumed without an expiry: it ends with this connection, so drop its record now.
        if (s.stored) {
            batch_.del(store::key(Kind::kSession, s.clientId()));
            s.stored = false;
            broker_.stored_sessions.fetch_sub(1, std::memory_order_relaxed);
        }
        return;
    }
    if (!s.stored) broker_.stored_sessions.fetch_add(1, std::memory_order_relaxed);
    s.stored = true;
    store::Writer w;
    w.u8(static_cast<uint8_t>(s.version)).u32(s.expiry_interval).u64(s.expires_at_ms).str(s.grants.username);
    w.u64(s.next_seq).u64(s.will_due_ms);
    if (s.will) {
        const auto& wl = *s.will;
        w.u8(1).str(wl.topic).str(wl.payload).str(wl.properties).u8(static_cast<uint8_t>(wl.qos));
        w.u8(wl.retain ? 1 : 0).u32(wl.message_expiry).u32(wl.delay);
    } else {
        w.u8(0);
    }
    batch_.put(store::key(Kind::kSession, s.clientId()), w.data());
}

void Shard::storeSubscription(const Session& s, std::string_view filter, const SubscriptionEntry* e) {
    if (!store_ || !s.persistent) return;
    auto k = store::key(Kind::kSub, s.clientId(), filter);
    if (!e) return batch_.del(k);
    store::Writer w;
    w.u8(encodeOptions(e->options)).u32(e->identifier);
    batch_.put(k, w.data());
}

void Shard::storeQueued(Session& s, QueuedDelivery& d) {
    if (!store_ || !s.persistent || d.qos == QoS::kAtMostOnce) return;
    d.seq = s.next_seq++;
    store::Writer w;
    w.u64(retainDurable(*d.message)).u8(static_cast<uint8_t>(d.qos)).u8(d.retain ? 1 : 0).str(d.shared);
    writeIds(w, d.subscription_ids);
    batch_.put(store::key(Kind::kQueued, s.clientId(), d.seq), w.data());
}

void Shard::unstoreQueued(Session& s, const QueuedDelivery& d, bool release) {
    if (!store_ || !d.seq) return;
    batch_.del(store::key(Kind::kQueued, s.clientId(), d.seq));
    if (!release) return;
    if (d.message) {
        releaseDurable(*d.message);
    } else {
        releaseParked(d.message_id);
    }
}

void Shard::storeInflight(Session& s, OutgoingInflight& e, bool new_ref) {
    if (!store_ || !s.persistent) return;
    if (!e.seq) e.seq = s.next_seq++;
    store::Writer w;
    uint64_t id = 0;
    if (e.message) id = new_ref ? retainDurable(*e.message) : e.message->durable().id;
    w.u16(e.packet_id).u64(id).u8(static_cast<uint8_t>(e.qos)).u8(e.retain ? 1 : 0).u8(e.released ? 1 : 0);
    w.str(e.shared);
    writeIds(w, e.subscription_ids);
    batch_.put(store::key(Kind::kInflight, s.clientId(), e.seq), w.data());
}

void Shard::unstoreInflight(Session& s, const OutgoingInflight& e) {
    if (!store_ || !e.seq) return;
    batch_.del(store::key(Kind::kInflight, s.clientId(), e.seq));
    if (e.message) releaseDurable(*e.message);
}

void Shard::storeIncoming(const Session& s, uint16_t packet_id, bool add) {
    if (!store_ || !s.persistent) return;
    auto k = store::key(Kind::kIncoming, s.clientId(), uint64_t(packet_id));
    if (add) {
        batch_.put(k, std::string_view());
    } else {
        batch_.del(k);
    }
}

void Shard::storeEndSession(Session& s) {
    if (!store_) return;
    if (s.stored) {
        s.stored = false;
        broker_.stored_sessions.fetch_sub(1, std::memory_order_relaxed);
    }
    for (auto& d : s.queue) {
        if (!d.seq) continue;
        if (d.message) {
            releaseDurable(*d.message);
        } else {
            releaseParked(d.message_id);
        }
    }
    for (auto& e : s.inflight)
        if (e.seq && e.message) releaseDurable(*e.message);
    batch_.del(store::key(Kind::kSession, s.clientId()));
    for (Kind k : {Kind::kSub, Kind::kQueued, Kind::kInflight, Kind::kIncoming})
        batch_.delClient(k, s.clientId());
}

void Shard::storeRetained(const MessagePtr& m) {
    if (!store_) return;
    auto k = store::key(Kind::kRetained, m->topic());
    if (m->payload().empty()) {
        batch_.del(k);
    } else {
        batch_.put(k, encodeMessage(*m));
    }
    retained_written_.push_back(m);  // reported once committed
}

void Shard::storePublish(const Message& m, uint64_t workers,
                         const std::vector<std::pair<unsigned, const std::string*>>& shared) {
    uint64_t targets = workers;
    for (auto& [w, key] : shared)
        targets |= uint64_t(1) << w;
    if (!store_ || m.qos() == QoS::kAtMostOnce || !targets) return;
    // Without any persistent session nothing needs the message after a crash. (A session that becomes
    // persistent while this message is on its way is covered from its next message on, as a new
    // subscription is.)
    if (broker_.stored_sessions.load(std::memory_order_relaxed) == 0) return;
    for (uint64_t b = targets; b; b &= b - 1) {
        const uint64_t bit = b & -b;
        const unsigned w = static_cast<unsigned>(__builtin_ctzll(b));
        {
            SpinGuard g(m.durable().lock);
            // Already pending there (a shared message handed on again while its first route is on its way):
            // that marker stands; a second one would overwrite its value and leak a reference.
            if (m.durable().marked & bit) continue;
        }
        uint64_t id = retainDurable(m);  // one reference per pending route
        {
            SpinGuard g(m.durable().lock);
            m.durable().marked |= bit;
        }
        // Empty: the worker's own subscribers (the only kind of marker before shared groups had them). With
        // groups: u8 own subscribers too, then each group key chosen on that worker.
        store::Writer v;
        bool any_group = false;
        for (auto& [sw, key] : shared) {
            if (sw != w) continue;
            if (!any_group) v.u8((workers & bit) ? 1 : 0);
            any_group = true;
            v.str(*key);
        }
        batch_.put(pendingKey(id, w), v.data());
        if (w != index_) marked_elsewhere_ = true;
    }
}

void Shard::storeRouted(const Message& m) {
    if (!store_ || m.qos() == QoS::kAtMostOnce) return;
    uint64_t id;
    {
        SpinGuard g(m.durable().lock);
        const uint64_t bit = uint64_t(1) << index_;
        if (!(m.durable().marked & bit)) return;  // no marker for this worker
        m.durable().marked &= ~bit;
        id = m.durable().id;
    }
    batch_.del(pendingKey(id, index_));
    releaseDurable(m);
}

bool Shard::commitBatch(std::string& error) {
    const std::string& failpoint = broker_.failpoint_fail_commits_while;
    if (!failpoint.empty() && !batch_.empty() && ::access(failpoint.c_str(), F_OK) == 0) {
        error = "failpoint fail-commits-while";
        return false;
    }
    return store_->commit(batch_, error);
}

void Shard::commitOrStop() {
    // A write that fails is tried again for about 1.5 s (RocksDB resumed in between: a transient error, space
    // freed). If the store still refuses it, the broker stops at once: this turn's acknowledgements are not
    // sent, and the state in memory, which no longer matches the store, goes with the process. The next start
    // recovers from what the store holds, which is everything acknowledged; clients send again what was not.
    // Going on without the store would acknowledge messages that a crash then loses.
    std::string error;
    auto backoff = std::chrono::milliseconds(50);
    for (int attempt = 1; !commitBatch(error); ++attempt) {
        stats_.store_errors.add();
        if (attempt == kCommitAttempts) {
            spdlog::critical(
                "Store write failed {} times ({}): stopping the broker now so that nothing unstored is "
                "acknowledged. Everything acknowledged is in the store; fix the cause (disk space, "
                "permissions, the disk) and start it again.",
                attempt, error);
            spdlog::default_logger()->flush();  // other workers may still log: the logger must stay
            std::_Exit(kExitStoreFailure);
        }
        spdlog::error("Store write failed (attempt {} of {}): {}; trying again in {} ms.", attempt, kCommitAttempts,
                      error, backoff.count());
        std::this_thread::sleep_for(backoff);
        backoff *= 2;
        store_->resume();
    }
}

void Shard::commitStore(uint64_t now_ms) {
    if (!store_) return;
    if (!batch_.empty()) {
        auto started = std::chrono::steady_clock::now();
        // Retained records written: those messages may leave memory now. Rarely another worker wrote a record
        // of the same topic at the same time; then the current one is written again, after (the third time, next
        // turn).
        for (int round = 0;; ++round) {
            commitOrStop();
            if (retained_written_.empty()) break;
            auto again = broker_.retained().stored(retained_written_);
            retained_written_.clear();
            for (auto& m : again)
                storeRetained(m);
            if (again.empty() || round == 2) break;
        }
        stats_.store_commits.add();
        stats_.store_commit_us.add(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count()));
    }
    if (store_->sync() == store::Sync::kInterval &&
        now_ms - last_sync_ms_ >= broker_.config().persistence_sync_interval_ms) {
        last_sync_ms_ = now_ms;
        store_->syncWal();
    }
}

// ---- Recovery

void Shard::restoreSession(std::unique_ptr<Session> s, std::vector<std::pair<std::string, SubscriptionEntry>> subs) {
    Session& ref = *s;
    sessions_.emplace(ref.clientId(), std::move(s));
    stats_.clients_total.add();
    store::Store* store = std::exchange(store_, nullptr);  // the subscriptions are stored already
    for (auto& [filter, e] : subs)
        addSubscription(ref, filter, e);
    store_ = store;
    stats_.queued_messages.add(ref.queue.size());
    for (const auto& d : ref.queue)
        if (!d.message) stats_.queued_evicted.add();
    chargeOfflineQueue(ref, false);  // recovery chose what stays resident (and parks the rest's references)
    stats_.inflight_messages.add(ref.inflight.size());
    if (ref.expires_at_ms || ref.will_due_ms) offline_timed_.insert(&ref);
}

void Shard::restoreRoute(const MessagePtr& m, std::string_view marker) {
    // A message whose records on this worker were not stored before the crash: deliver it as its publisher's
    // worker handed it on (to this worker's subscribers, to the shared groups chosen here, or both).
    if (marker.empty()) return deliverLocal(m);
    store::Reader r(marker);
    if (r.u8()) deliverLocal(m);
    while (r.ok() && !r.atEnd()) {
        std::string key(r.str());
        if (r.ok()) deliverShared(m, key);
    }
    if (!r.ok())
        spdlog::warn("A pending-route record of message {} is damaged; its shared groups are skipped.",
                     m->durable().id);
    storeRouted(*m);  // the marker goes whatever it held
}

void recoverFromStore(Broker& broker) {
    store::Store* st = broker.store();
    if (!st) return;
    uint64_t now = systemNowMs();
    // Message bodies are read when a record needs them in memory, not during the scan: the queues of offline
    // sessions beyond persistence_queue_memory stay on disk.
    struct Body {
        MessagePtr message;    // read, for records kept in memory
        uint32_t size = 0;     // Message::size()
        uint32_t evicted = 0;  // references of queued deliveries restored evicted
    };
    std::unordered_map<uint64_t, Body> messages;
    struct Rec {
        std::unique_ptr<Session> session;
        std::vector<std::pair<std::string, SubscriptionEntry>> subs;
        // Queued deliveries, decoded during the scan (message bodies come before them in key order, so each
        // is resident or evicted at once: the scan holds no copy of the records).
        std::vector<QueuedDelivery> queued;
        std::vector<std::pair<uint64_t, std::string>> inflight;  // seq, value (they come before the bodies)
        std::vector<uint16_t> incoming;
        bool restored = false;
    };
    std::map<std::string, Rec> sessions;
    struct Pending {
        uint64_t id;
        unsigned worker;
        std::string marker;  // the record's value: shared groups chosen on that worker, if any
    };
    std::vector<Pending> pending;
    // Retained messages are kept in memory up to persistence_retained_memory, in topic order; the others are
    // read from the store when asked for.
    broker.retained().attachDisk(std::make_unique<StoreRetainedDisk>(*st), broker.config().persistence_retained_memory);
    size_t retained = 0;
    std::vector<std::string> dropped_retained;
    uint64_t max_id = 0;
    size_t bad = 0;
    auto splitClient = [](std::string_view k, std::string_view& cid, std::string_view& rest) {
        size_t z = k.find('\0');
        if (z == std::string_view::npos) return false;
        cid = k.substr(0, z);
        rest = k.substr(z + 1);
        return true;
    };
    auto be = [](std::string_view b) {
        uint64_t v = 0;
        for (unsigned char c : b)
            v = (v << 8) | c;
        return v;
    };
    // A stored body by id, read on first use; null when there is none (or it cannot be read).
    auto body = [&](uint64_t id) -> Body* {
        auto it = messages.find(id);
        if (it == messages.end()) return nullptr;
        if (!it->second.message) {
            std::string error;
            it->second.message = readStoredMessage(*st, id, error);
            if (!it->second.message) {
                spdlog::error("Stored message {} cannot be read: {}.", id, error);
                messages.erase(it);
                return nullptr;
            }
        }
        return &it->second;
    };
    // Restored sessions are offline: each worker keeps their queued messages in memory up to its share of
    // persistence_queue_memory, oldest first (what is sent first on reconnect), the rest stays on disk.
    std::vector<uint64_t> resident(broker.workerCount(), 0);
    const uint64_t limit = broker.config().persistence_queue_memory;
    const uint64_t share =
        limit ? std::max<uint64_t>(limit / broker.workerCount(), 1) : std::numeric_limits<uint64_t>::max();
    const uint64_t eager_limit = limit ? limit : std::numeric_limits<uint64_t>::max();
    uint64_t eager_bytes = 0;
    std::string scan_error;
    st->scan(
        [&](Kind kind, std::string_view k, std::string_view v) {
            std::string_view cid, rest;
            switch (kind) {
                case Kind::kMessage: {
                    Message::Init init;
                    if (!readMessage(v, init) || k.size() != 8) return void(++bad);
                    uint64_t id = be(k);
                    max_id = std::max(max_id, id);
                    Body& b = messages[id];
                    b.size = static_cast<uint32_t>(init.topic.size() + init.properties.size() + init.payload.size());
                    // The oldest bodies, up to the queues' budget, are decoded now rather than read again one by
                    // one when their queued records come (most of those stay in memory); the unused ones are
                    // dropped at the end.
                    if (eager_bytes + b.size <= eager_limit) {
                        b.message = Message::create(init);
                        eager_bytes += b.size;
                    }
                    return;
                }
                case Kind::kPending:
                    if (k.size() == 9)
                        pending.push_back({be(k.substr(0, 8)), static_cast<uint8_t>(k[8]), std::string(v)});
                    return;
                case Kind::kRetained: {
                    auto m = decodeMessage(v);
                    if (!m || m->expired(now)) {
                        if (!m) ++bad;
                        dropped_retained.push_back(store::key(Kind::kRetained, k));
                    } else {
                        broker.retained().restore(m);
                        ++retained;
                    }
                    return;
                }
                case Kind::kSession: {
                    store::Reader r(v);
                    auto s = std::make_unique<Session>(std::string(k));
                    s->version = static_cast<protocol::ProtocolVersion>(r.u8());
                    s->expiry_interval = r.u32();
                    s->connect_expiry = s->expiry_interval;
                    s->persistent = s->expiry_interval != 0;
                    s->expires_at_ms = r.u64();
                    s->grants.username = std::string(r.str());
                    s->next_seq = r.u64();
                    s->will_due_ms = r.u64();
                    if (r.u8()) {
                        WillMessage w;
                        w.topic = std::string(r.str());
                        w.payload = std::string(r.str());
                        w.properties = std::string(r.str());
                        w.qos = static_cast<QoS>(r.u8() & 3);
                        w.retain = r.u8() != 0;
                        w.message_expiry = r.u32();
                        w.delay = r.u32();
                        s->will = std::make_unique<WillMessage>(std::move(w));
                    }
                    if (!r.ok()) return void(++bad);
                    // Online when the broker stopped: its expiry starts now.
                    if (!s->expires_at_ms && s->expiry_interval != Session::kNeverExpires)
                        s->expires_at_ms = now + uint64_t(s->expiry_interval) * 1000;
                    if (!s->will_due_ms) s->will.reset();  // will of a client connected at the crash: not sent
                    sessions[std::string(k)].session = std::move(s);
                    return;
                }
                case Kind::kSub: {
                    if (!splitClient(k, cid, rest)) return void(++bad);
                    store::Reader r(v);
                    SubscriptionEntry e;
                    e.options = decodeOptions(r.u8());
                    e.identifier = r.u32();
                    sessions[std::string(cid)].subs.emplace_back(std::string(rest), e);
                    return;
                }
                case Kind::kQueued: {
                    if (!splitClient(k, cid, rest) || rest.size() != 8) return void(++bad);
                    store::Reader r(v);
                    uint64_t id = r.u64();
                    QueuedDelivery d;
                    d.qos = static_cast<QoS>(r.u8() & 3);
                    d.retain = r.u8() != 0;
                    d.shared = std::string(r.str());
                    d.subscription_ids = readIds(r);
                    d.seq = be(rest);
                    if (!r.ok()) return void(++bad);
                    auto it = messages.find(id);
                    if (it == messages.end()) return;  // its body is gone (unreadable, counted there)
                    const uint32_t size = it->second.size;
                    uint64_t& worker_resident = resident[broker.ownerOf(cid)];
                    if (d.shared.empty() && worker_resident + size > share) {
                        d.message_id = id;
                        d.evicted_bytes = size;
                        ++it->second.evicted;
                    } else {
                        Body* b = body(id);
                        if (!b) return;
                        d.message = b->message;
                        ++d.message->durable().refs;
                        worker_resident += size;
                    }
                    sessions[std::string(cid)].queued.push_back(std::move(d));
                    return;
                }
                case Kind::kInflight:
                    if (!splitClient(k, cid, rest) || rest.size() != 8) return void(++bad);
                    sessions[std::string(cid)].inflight.emplace_back(be(rest), std::string(v));
                    return;
                case Kind::kIncoming:
                    if (!splitClient(k, cid, rest) || rest.size() != 8) return void(++bad);
                    sessions[std::string(cid)].incoming.push_back(static_cast<uint16_t>(be(rest)));
                    return;
            }
            ++bad;
        },
        scan_error);
    if (!scan_error.empty()) {
        // Open verified every block, so this is an I/O error (or damage since): the records after it were not
        // seen, and going on would hand out message ids and delete bodies that those records still use. The next
        // start verifies the store again and repairs it if it is damaged.
        spdlog::critical(
            "Persistence: reading the store failed ({}) after it was verified; stopping rather than "
            "starting with part of it.",
            scan_error);
        spdlog::default_logger()->flush();
        std::_Exit(kExitStoreFailure);
    }
    broker.next_message_id.store(max_id + 1);
    broker.unreadable_records.store(bad);

    size_t restored = 0, queued = 0, inflight = 0, evicted = 0;
    for (auto& [cid, rec] : sessions) {
        if (!rec.session) continue;  // records without a session: removed below
        Session& s = *rec.session;
        if (!rec.queued.empty()) s.next_seq = std::max(s.next_seq, rec.queued.back().seq + 1);
        for (auto& d : rec.queued) {
            if (d.message) {
                s.queued_bytes += d.message->size();
            } else {
                s.queued_bytes += d.evicted_bytes;
                ++evicted;
            }
            s.queue.push_back(std::move(d));
            ++queued;
        }
        std::vector<QueuedDelivery>().swap(rec.queued);
        for (auto& [seq, value] : rec.inflight) {
            store::Reader r(value);
            OutgoingInflight e;
            e.packet_id = r.u16();
            uint64_t id = r.u64();
            e.qos = static_cast<QoS>(r.u8() & 3);
            e.retain = r.u8() != 0;
            e.released = r.u8() != 0;
            e.shared = std::string(r.str());
            e.subscription_ids = readIds(r);
            e.seq = seq;
            if (!r.ok()) continue;
            if (id) {
                Body* b = body(id);
                if (!b) continue;
                e.message = b->message;
                ++e.message->durable().refs;
            } else if (!e.released) {
                continue;
            }
            s.inflight.push_back(std::move(e));
            ++inflight;
        }
        if (!s.inflight.empty()) s.setLastPacketId(s.inflight.back().packet_id);
        // New records go after the restored ones (the session record's counter may be older than them).
        if (!rec.inflight.empty()) s.next_seq = std::max(s.next_seq, rec.inflight.back().first + 1);
        for (uint16_t pid : rec.incoming)
            s.incoming_qos2.insert(pid);
        rec.restored = true;
        rec.session->stored = true;
        broker.stored_sessions.fetch_add(1, std::memory_order_relaxed);
        broker.shard(broker.ownerOf(cid)).restoreSession(std::move(rec.session), std::move(rec.subs));
        ++restored;
    }
    // Queued records of sessions that are gone (deleted below) hold no reference.
    for (auto& [cid, rec] : sessions) {
        if (rec.restored) continue;
        for (auto& d : rec.queued) {
            if (d.message) {
                --d.message->durable().refs;
            } else if (auto it = messages.find(d.message_id); it != messages.end()) {
                --it->second.evicted;
            }
        }
    }
    // The references of bodies with evicted deliveries are counted in Broker::parked from now on (with those
    // of the copy in memory, if any), before any new record refers to them.
    for (auto& [id, b] : messages) {
        if (!b.evicted) continue;
        uint32_t refs = b.evicted;
        if (b.message) {
            refs += b.message->durable().refs;
            b.message->durable().parked = true;
        }
        broker.parked.refs[id] = refs;
    }
    // Routes of messages acknowledged to their publishers whose deliveries were not stored yet.
    size_t rerouted = 0;
    for (auto& [id, worker, marker] : pending) {
        Body* b = body(id);
        if (!b) continue;
        auto& dur = b->message->durable();
        if (b->evicted) dur.parked = true;  // read just now for this route: its count is in Broker::parked
        if (dur.parked) {
            ++broker.parked.refs[id];  // the marker's reference, released by restoreRoute
        } else {
            ++dur.refs;
        }
        dur.marked |= uint64_t(1) << (worker < broker.workerCount() ? worker : 0);
        Shard& target = broker.shard(worker < broker.workerCount() ? worker : 0);
        target.restoreRoute(b->message, marker);
        ++rerouted;
    }
    // What nothing refers to any more, and records of sessions that are gone. (A parked body whose count
    // went to zero during the reroutes was deleted by the batch that released it.)
    store::Batch cleanup;
    size_t dropped = 0;
    for (auto& [id, b] : messages) {
        if (b.evicted || (b.message && (b.message->durable().parked || b.message->durable().refs))) continue;
        cleanup.del(store::key(Kind::kMessage, id));
        ++dropped;
    }
    for (auto& k : dropped_retained)
        cleanup.del(k);
    for (auto& [cid, rec] : sessions) {
        if (rec.restored) continue;
        for (Kind k : {Kind::kSub, Kind::kQueued, Kind::kInflight, Kind::kIncoming})
            cleanup.delClient(k, cid);
    }
    std::string error;
    if (!st->commit(cleanup, error)) spdlog::error("Store clean-up failed: {}", error);
    for (unsigned w = 0; w < broker.workerCount(); ++w)
        broker.shard(w).commitStore(now);
    spdlog::info(
        "Restored {} persistent session(s), {} queued ({} of them on disk only) and {} in-flight message(s), {} "
        "retained message(s) ({} on disk only); {} message(s) routed again, {} unreferenced message body(ies) "
        "removed{}.",
        restored, queued, evicted, inflight, retained, broker.retained().diskOnlyCount(), rerouted, dropped,
        bad ? ", " + std::to_string(bad) + " unreadable record(s) skipped" : std::string());
}

}  // namespace starling::broker
