// Persistence: what the broker core writes to the embedded store, and recovery at start-up.
//
// The rule: a PUBACK/PUBREC goes out only after the batch holding what it promises is committed. Each
// worker fills one batch per loop turn and commits it in Shard::flush(), before the turn's output is
// written (Worker::endTurn). A QoS 1/2 message that some worker's subscribers match is stored once (M)
// together with one "pending route" marker per target worker (P/id/worker) in the publisher's batch. Each
// target deletes its marker in the same batch as the queued and in-flight records it creates for the
// message, so after a crash a surviving marker means exactly: that worker's persistent subscribers did not
// get their records yet; recovery routes the message to them again.
#include <spdlog/spdlog.h>

#include <chrono>

#include <map>
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

std::string encodeMessage(const Message& m) {
    store::Writer w;
    w.u8(static_cast<uint8_t>(m.qos())).u8(m.retain() ? 1 : 0).u64(m.expiresAtMs());
    w.str(m.topic()).str(m.properties()).str(m.payload());
    return w.data();
}

MessagePtr decodeMessage(std::string_view value) {
    store::Reader r(value);
    Message::Init init;
    init.qos = static_cast<QoS>(r.u8() & 3);
    init.retain = r.u8() != 0;
    init.expires_at_ms = r.u64();
    init.topic = r.str();
    init.properties = r.str();
    init.payload = r.str();
    if (!r.ok()) return {};
    return Message::create(init);
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
    if (d.refs == 0) return;
    if (--d.refs == 0) batch_.del(store::key(Kind::kMessage, d.id));
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
    w.u8(static_cast<uint8_t>(s.version)).u32(s.expiry_interval).u64(s.expires_at_ms).str(s.username);
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
    if (release) releaseDurable(*d.message);
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
    for (auto& d : s.queue)
        if (d.seq) releaseDurable(*d.message);
    for (auto& e : s.inflight)
        if (e.seq && e.message) releaseDurable(*e.message);
    batch_.del(store::key(Kind::kSession, s.clientId()));
    for (Kind k : {Kind::kSub, Kind::kQueued, Kind::kInflight, Kind::kIncoming})
        batch_.delClient(k, s.clientId());
}

void Shard::storeRetained(const Message& m) {
    if (!store_) return;
    auto k = store::key(Kind::kRetained, m.topic());
    if (m.payload().empty()) {
        batch_.del(k);
    } else {
        batch_.put(k, encodeMessage(m));
    }
}

void Shard::storePublish(const Message& m, uint64_t workers) {
    if (!store_ || m.qos() == QoS::kAtMostOnce || !workers) return;
    // Without any persistent session nothing needs the message after a crash. (A session that becomes
    // persistent while this message is on its way is covered from its next message on, as a new
    // subscription is.)
    if (broker_.stored_sessions.load(std::memory_order_relaxed) == 0) return;
    for (uint64_t b = workers; b; b &= b - 1) {
        uint64_t id = retainDurable(m);  // one reference per pending route
        {
            SpinGuard g(m.durable().lock);
            m.durable().marked |= b & -b;
        }
        batch_.put(pendingKey(id, static_cast<unsigned>(__builtin_ctzll(b))), std::string_view());
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

void Shard::commitStore(uint64_t now_ms) {
    if (!store_) return;
    if (!batch_.empty()) {
        std::string error;
        auto started = std::chrono::steady_clock::now();
        if (!store_->commit(batch_, error)) {
            stats_.store_errors.add();
            spdlog::error("Store write failed: {}", error);
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
    stats_.inflight_messages.add(ref.inflight.size());
    if (ref.expires_at_ms || ref.will_due_ms) offline_timed_.insert(&ref);
}

void Shard::restoreRoute(const MessagePtr& m) {
    // A message whose records for this worker's subscribers were not stored before the crash: deliver it
    // as a batch from its publisher would have been (which also deletes the marker).
    deliverLocal(m);
}

void recoverFromStore(Broker& broker) {
    store::Store* st = broker.store();
    if (!st) return;
    uint64_t now = systemNowMs();
    std::unordered_map<uint64_t, MessagePtr> messages;
    struct Rec {
        std::unique_ptr<Session> session;
        std::vector<std::pair<std::string, SubscriptionEntry>> subs;
        std::vector<std::pair<uint64_t, std::string>> queued, inflight;  // seq, value
        std::vector<uint16_t> incoming;
        bool restored = false;
    };
    std::map<std::string, Rec> sessions;
    std::vector<std::pair<uint64_t, unsigned>> pending;
    std::vector<MessagePtr> retained;
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
    st->scan([&](Kind kind, std::string_view k, std::string_view v) {
        std::string_view cid, rest;
        switch (kind) {
            case Kind::kMessage: {
                auto m = decodeMessage(v);
                if (!m || k.size() != 8) return void(++bad);
                uint64_t id = be(k);
                m->durable().id = id;
                max_id = std::max(max_id, id);
                messages.emplace(id, std::move(m));
                return;
            }
            case Kind::kPending:
                if (k.size() == 9) pending.emplace_back(be(k.substr(0, 8)), static_cast<uint8_t>(k[8]));
                return;
            case Kind::kRetained: {
                auto m = decodeMessage(v);
                if (m && !m->expired(now)) retained.push_back(std::move(m));
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
                s->username = std::string(r.str());
                s->grants.username = s->username;
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
            case Kind::kQueued:
            case Kind::kInflight: {
                if (!splitClient(k, cid, rest) || rest.size() != 8) return void(++bad);
                auto& rec = sessions[std::string(cid)];
                (kind == Kind::kQueued ? rec.queued : rec.inflight).emplace_back(be(rest), std::string(v));
                return;
            }
            case Kind::kIncoming:
                if (!splitClient(k, cid, rest) || rest.size() != 8) return void(++bad);
                sessions[std::string(cid)].incoming.push_back(static_cast<uint16_t>(be(rest)));
                return;
        }
        ++bad;
    });
    broker.next_message_id.store(max_id + 1);

    for (auto& m : retained)
        broker.retained().set(m);

    size_t restored = 0, queued = 0, inflight = 0;
    for (auto& [cid, rec] : sessions) {
        if (!rec.session) continue;  // records without a session: removed below
        Session& s = *rec.session;
        for (auto& [seq, value] : rec.queued) {
            store::Reader r(value);
            uint64_t id = r.u64();
            QueuedDelivery d;
            d.qos = static_cast<QoS>(r.u8() & 3);
            d.retain = r.u8() != 0;
            d.shared = std::string(r.str());
            d.subscription_ids = readIds(r);
            d.seq = seq;
            auto it = messages.find(id);
            if (!r.ok() || it == messages.end()) continue;
            d.message = it->second;
            ++d.message->durable().refs;
            s.queued_bytes += d.message->size();
            s.queue.push_back(std::move(d));
            ++queued;
        }
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
                auto it = messages.find(id);
                if (it == messages.end()) continue;
                e.message = it->second;
                ++e.message->durable().refs;
            } else if (!e.released) {
                continue;
            }
            s.inflight.push_back(std::move(e));
            ++inflight;
        }
        if (!s.inflight.empty()) s.setLastPacketId(s.inflight.back().packet_id);
        // New records go after the restored ones (the session record's counter may be older than them).
        for (auto* list : {&rec.queued, &rec.inflight})
            if (!list->empty()) s.next_seq = std::max(s.next_seq, list->back().first + 1);
        for (uint16_t pid : rec.incoming)
            s.incoming_qos2.insert(pid);
        rec.restored = true;
        rec.session->stored = true;
        broker.stored_sessions.fetch_add(1, std::memory_order_relaxed);
        broker.shard(broker.ownerOf(cid)).restoreSession(std::move(rec.session), std::move(rec.subs));
        ++restored;
    }
    // Routes of messages acknowledged to their publishers whose deliveries were not stored yet.
    size_t rerouted = 0;
    for (auto& [id, worker] : pending) {
        auto it = messages.find(id);
        if (it == messages.end()) continue;
        ++it->second->durable().refs;  // the marker's reference, released by restoreRoute
        it->second->durable().marked |= uint64_t(1) << (worker < broker.workerCount() ? worker : 0);
        Shard& target = broker.shard(worker < broker.workerCount() ? worker : 0);
        target.restoreRoute(it->second);
        ++rerouted;
    }
    // What nothing refers to any more, and records of sessions that are gone.
    store::Batch cleanup;
    size_t dropped = 0;
    for (auto& [id, m] : messages) {
        if (m->durable().refs == 0) {
            cleanup.del(store::key(Kind::kMessage, id));
            ++dropped;
        }
    }
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
        "Restored {} persistent session(s), {} queued and {} in-flight message(s), {} retained message(s); "
        "{} message(s) routed again, {} unreferenced message body(ies) removed{}.",
        restored, queued, inflight, retained.size(), rerouted, dropped,
        bad ? ", " + std::to_string(bad) + " unreadable record(s) skipped" : std::string());
}

}  // namespace starling::broker
