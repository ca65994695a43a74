// Routing and delivery: from one published message to the PUBLISH packets of every matching session,
// through the route index, the local trie, in-flight windows, queues and output limits.
#include <chrono>

#include "broker/shard.hpp"

#include "broker/clock.hpp"
#include "protocol/pub_ack.hpp"
#include "protocol/publish.hpp"
#include "protocol/wire.hpp"

namespace starling::broker {

using protocol::ProtocolVersion;
using protocol::QoS;

bool Shard::publish(const MessagePtr& m) {
    if (m->retain()) {
        if (broker_.retained().set(m)) storeRetained(m);
    }
    const TopicPath topic(m->topic());  // cut once, for every trie below
    uint64_t workers = 0;
    bool collected = false;
    if (broker_.workerCount() == 1) {
        // A lone worker's route index holds exactly the filters of its own trie (routeChanged), so that trie
        // answers both questions in one walk: whether any filter matches, and who gets the message.
        collected = true;
        if (collectLocal(*m, topic)) workers = uint64_t(1) << index_;
    } else {
        routes_.match(topic, [&](uint64_t& mask) { workers |= mask; });
    }
    bool matched = workers != 0;
    shared_choices_.clear();
    shared_routes_.match(topic, [&](std::vector<SharedRoute>& groups) {
        for (auto& g : groups) {
            matched = true;
            if (unsigned w = chooseSharedWorker(*m, g); w != kNoWorker) shared_choices_.emplace_back(w, &g.key);
        }
    });
    // Before any delivery: each target worker deletes its marker together with the records it makes.
    storePublish(*m, workers, shared_choices_);
    for (auto& [w, key] : shared_choices_)
        dispatchShared(m, w, *key);
    while (workers) {
        unsigned w = static_cast<unsigned>(__builtin_ctzll(workers));
        workers &= workers - 1;
        if (w == index_) {
            if (!collected) collectLocal(*m, topic);
            deliverCollected(m);
        } else {
            outbox_[w].push_back(m);
            outbox_mask_ |= uint64_t(1) << w;
        }
    }
    return matched;
}

void Shard::deliverBatch(std::vector<MessagePtr>& batch) {
    for (auto& m : batch)
        deliverLocal(m);
    backlog_.fetch_sub(static_cast<int64_t>(batch.size()), std::memory_order_relaxed);
}

namespace {

uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

uint64_t hashOf(std::string_view s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s)
        h = (h ^ c) * 1099511628211ull;
    return h;
}

}  // namespace

// The strategy's choice among `n` candidates; `rr` is the round robin position; `salt` keeps the worker
// choice and the member choice of the hash strategies independent.
static size_t choose(const std::string& strategy, size_t n, size_t& rr, const Message& m, uint64_t& random_state,
                     uint64_t salt) {
    if (strategy == "random") {
        random_state = mix(random_state + 0x9E3779B97F4A7C15ull);
        return random_state % n;
    }
    if (strategy == "hash_client") return mix(m.origin() ^ salt) % n;
    if (strategy == "hash_topic") return mix(hashOf(m.topic()) ^ salt) % n;
    return rr++ % n;  // round_robin (sticky falls back to it when its choice is gone)
}

unsigned Shard::chooseSharedWorker(const Message& m, SharedRoute& r) {
    const std::string& strategy = broker_.config().shared_subscription_strategy;
    unsigned w;
    if (strategy == "sticky" && r.sticky < 64 && (r.workers >> r.sticky & 1)) {
        w = r.sticky;
    } else {
        if (!r.total) return kNoWorker;
        // The n-th member over all workers, then the worker that holds it.
        size_t n = choose(strategy, r.total, r.next, m, random_state_, 0x5bd1e995);
        w = 0;
        for (uint64_t b = r.workers; b; b &= b - 1) {
            w = static_cast<unsigned>(__builtin_ctzll(b));
            if (n < r.members[w]) break;
            n -= r.members[w];
        }
        r.sticky = w;
    }
    return w;
}

void Shard::dispatchShared(const MessagePtr& m, unsigned w, const std::string& key) {
    if (w == index_) {
        deliverShared(m, key);
    } else {
        shared_outbox_[w].emplace_back(m, key);
        outbox_mask_ |= uint64_t(1) << w;
    }
}

void Shard::deliverShared(const MessagePtr& m, const std::string& key) {
    deliverToGroup(m, key);
    storeRouted(*m);  // also when no member was left to take it: the marker must not outlive this turn
}

void Shard::deliverToGroup(const MessagePtr& m, const std::string& key) {
    auto [group, filter] = splitShared(key);
    auto* groups = shared_.find(filter);
    if (!groups) return;  // the last member left while the message was on its way
    SharedGroup* g = nullptr;
    for (auto& candidate : *groups)
        if (candidate.name == group) g = &candidate;
    if (!g || g->members.empty()) return;
    // Online members first; an offline persistent member queues only when nobody is online.
    std::vector<Subscriber*> online;
    for (auto& sub : g->members)
        if (sub.session->link) online.push_back(&sub);
    Subscriber* chosen = nullptr;
    const std::string& strategy = broker_.config().shared_subscription_strategy;
    if (strategy == "sticky" && g->sticky && g->sticky->link) {
        for (auto& sub : g->members)
            if (sub.session == g->sticky) chosen = &sub;
    }
    if (!chosen) {
        if (online.empty()) {
            chosen = &g->members[g->next++ % g->members.size()];
        } else {
            chosen = online[choose(strategy, online.size(), g->next, *m, random_state_, 0x27d4eb2f)];
        }
        g->sticky = chosen->session;
    }
    if (const Security& sec = security();
        sec.checksDelivery() && !sec.canReceive(chosen->session->clientId(), chosen->session->grants, m->topic())) {
        stats_.dropped_acl.add();
        return;
    }
    const auto& o = chosen->entry.options;
    std::vector<uint32_t> ids;
    if (chosen->entry.identifier) ids.push_back(chosen->entry.identifier);
    delivering_shared_ = &key;
    // [MQTT-4.8.2-3] at the chosen member's granted QoS.
    deliver(*chosen->session, m, std::min(m->qos(), o.qos), o.retain_as_published && m->retain(), ids);
    delivering_shared_ = nullptr;
}

void Shard::redistributeShared(Session& s) {
    std::vector<std::pair<MessagePtr, std::string>> orphans;
    // [MQTT-4.8.2-5] QoS 2 already sent stays with that member; QoS 1 in flight and anything queued go on.
    for (auto& e : s.inflight)
        if (!e.shared.empty() && e.message && !e.released && e.qos == QoS::kAtLeastOnce)
            orphans.emplace_back(e.message, std::move(e.shared));
    for (auto& d : s.queue)
        if (!d.shared.empty() && d.message) orphans.emplace_back(d.message, std::move(d.shared));  // never evicted
    for (auto& [m, key] : orphans) {
        auto [group, filter] = splitShared(key);
        auto* routes = shared_routes_.find(filter);
        if (!routes) continue;
        for (auto& r : *routes) {
            if (r.key != key) continue;
            unsigned w = chooseSharedWorker(*m, r);
            if (w == kNoWorker) continue;
            // Acknowledged to its publisher long ago: another worker's member needs a marker until it has
            // stored its records, as at publish time.
            if (w != index_) storePublish(*m, 0, {{w, &r.key}});
            dispatchShared(m, w, r.key);
        }
    }
}

void Shard::deliverLocal(const MessagePtr& m) {
    collectLocal(*m, TopicPath(m->topic()));
    deliverCollected(m);
}

bool Shard::collectLocal(const Message& m, const TopicPath& topic) {
    uint64_t gen = ++match_generation_;
    matched_.clear();
    bool any = false;
    subscriptions_.match(topic, [&](std::vector<Subscriber>& subs) {
        any = true;
        for (auto& sub : subs) {
            Session* s = sub.session;
            const auto& o = sub.entry.options;
            if (o.no_local && m.origin() == reinterpret_cast<uint64_t>(s)) continue;  // [MQTT-3.8.3-3]
            if (s->match_generation != gen) {
                s->match_generation = gen;
                s->match_qos = o.qos;
                s->match_retain_as_published = o.retain_as_published;
                s->match_ids.clear();
                matched_.push_back(s);
            } else {
                // [MQTT-3.3.5-1] overlapping subscriptions: one message at the highest granted QoS.
                if (o.qos > s->match_qos) s->match_qos = o.qos;
                s->match_retain_as_published |= o.retain_as_published;
            }
            // [MQTT-3.3.4-3] [MQTT-3.3.4-4] the one copy carries every matching subscription's identifier.
            if (sub.entry.identifier) s->match_ids.push_back(sub.entry.identifier);
        }
    });
    return any;
}

void Shard::deliverCollected(const MessagePtr& m) {
    const Security& sec = security();
    const bool check = sec.checksDelivery();
    for (Session* s : matched_) {
        if (check && !sec.canReceive(s->clientId(), s->grants, m->topic())) {
            stats_.dropped_acl.add();  // the ACL keeps this message from this subscriber
            continue;
        }
        // [MQTT-3.3.1-9] the retain flag is cleared on normal forwarding, unless v5 Retain As Published.
        deliver(*s, m, std::min(m->qos(), s->match_qos), s->match_retain_as_published && m->retain(), s->match_ids);
    }
    storeRouted(*m);
}

size_t Shard::inflightWindow(const Session& s) const {
    size_t window = broker_.config().max_inflight_messages;
    if (window == 0) window = 65535;
    // [MQTT-3.3.4-9] never more unacknowledged QoS 1/2 than the client's Receive Maximum.
    if (s.link && s.link->client_receive_maximum < window) window = s.link->client_receive_maximum;
    return window;
}

bool Shard::fitsClient(const ClientLink& link, const Message& m, QoS qos, const std::vector<uint32_t>& ids) const {
    if (!link.client_maximum_packet) return true;
    // The whole PUBLISH as sendPublish writes it, counting a topic alias property (when the client takes
    // them) and the expiry interval.
    size_t props = m.properties().size() + (link.client_topic_alias_maximum ? 3 : 0) + (m.expiresAtMs() ? 5 : 0);
    for (uint32_t id : ids)
        props += 1 + protocol::varintSize(id);
    size_t remaining = 2 + m.topic().size() + (qos == QoS::kAtMostOnce ? 0 : 2) +
                       protocol::varintSize(static_cast<uint32_t>(props)) + props + m.payload().size();
    return 1 + protocol::varintSize(static_cast<uint32_t>(remaining)) + remaining <= link.client_maximum_packet;
}

void Shard::deliver(Session& s, const MessagePtr& m, QoS qos, bool retain, const std::vector<uint32_t>& ids) {
    if (m->expiresAtMs() && m->expired(systemNowMs())) {
        stats_.dropped_expired.add();
        return;
    }
    ClientLink* link = s.link;
    if (!link) {
        if (!s.persistent) return;
        if (qos == QoS::kAtMostOnce && !broker_.config().queue_qos0_messages) return;
        enqueue(s, m, qos, retain, ids);
        return;
    }
    if (link->version == ProtocolVersion::kV5 && !fitsClient(*link, *m, qos, ids)) {
        // [MQTT-3.1.2-25] too large for this client: dropped for it alone, as if sent.
        stats_.dropped_too_large.add();
        return;
    }
    if (qos == QoS::kAtMostOnce) {
        // Slow consumers lose QoS 0 first: over the hard limit at once, over the soft limit after its grace.
        const auto& cfg = broker_.config();
        uint64_t pending = link->pendingOutputBytes();
        if (pending > cfg.output_limit_hard ||
            (link->over_soft_limit_since_ms && pending > cfg.output_limit_soft &&
             systemNowMs() - link->over_soft_limit_since_ms > uint64_t(cfg.output_limit_soft_seconds) * 1000)) {
            stats_.dropped_output_limit.add();
            return;
        }
        sendPublish(s, m, qos, retain, 0, false, ids);
        return;
    }
    if (!s.queue.empty() || s.inflight.size() >= inflightWindow(s)) {
        enqueue(s, m, qos, retain, ids);
        return;
    }
    uint16_t id = s.nextPacketId();
    s.inflight.push_back(
        OutgoingInflight{id, m, qos, retain, false, ids, delivering_shared_ ? *delivering_shared_ : std::string()});
    storeInflight(s, s.inflight.back(), true);
    stats_.inflight_messages.add();
    sendPublish(s, m, qos, retain, id, false, ids);
}

void Shard::enqueue(Session& s, const MessagePtr& m, QoS qos, bool retain, const std::vector<uint32_t>& ids) {
    const auto& cfg = broker_.config();
    if ((cfg.max_queued_messages && s.queue.size() >= cfg.max_queued_messages) ||
        (cfg.max_queued_bytes && s.queued_bytes + m->size() > cfg.max_queued_bytes)) {
        stats_.dropped_queue_full.add();
        return;
    }
    s.queue.push_back(QueuedDelivery{m, qos, retain, ids, delivering_shared_ ? *delivering_shared_ : std::string()});
    storeQueued(s, s.queue.back());
    s.queued_bytes += m->size();
    stats_.queued_messages.add();
    if (!s.link) chargeQueued(s, s.queue.back());
}

void Shard::drainQueue(Session& s) {
    if (s.unsent_inflight && s.link) {
        // Deliveries held back at reconnect by the client's Receive Maximum, oldest first.
        size_t in_window = s.inflight.size() - s.unsent_inflight;
        const size_t window = inflightWindow(s);
        for (auto& e : s.inflight) {
            if (!e.unsent) continue;
            if (in_window >= window) break;
            e.unsent = false;
            --s.unsent_inflight;
            ++in_window;
            if (e.released) continue;  // cannot be: PUBRELs are never held back
            sendPublish(s, e.message, e.qos, e.retain, e.packet_id, true, e.subscription_ids);
        }
    }
    uint64_t now = 0;
    while (s.link && !s.queue.empty() &&
           (s.queue.front().qos == QoS::kAtMostOnce || s.inflight.size() < inflightWindow(s))) {
        QueuedDelivery d = std::move(s.queue.front());
        s.queue.pop_front();
        s.queued_bytes -= d.bytes();
        stats_.queued_messages.sub();
        if (!d.message && !reloadQueued(s, d)) continue;  // evicted while offline: read back from the store
        if (d.message->expiresAtMs()) {
            if (!now) now = systemNowMs();
            if (d.message->expired(now)) {
                stats_.dropped_expired.add();
                unstoreQueued(s, d, true);
                continue;
            }
        }
        if (s.link->version == ProtocolVersion::kV5 && !fitsClient(*s.link, *d.message, d.qos, d.subscription_ids)) {
            stats_.dropped_too_large.add();  // [MQTT-3.1.2-25]
            unstoreQueued(s, d, true);
            continue;
        }
        if (d.qos == QoS::kAtMostOnce) {
            sendPublish(s, d.message, d.qos, d.retain, 0, false, d.subscription_ids);
            continue;
        }
        uint16_t id = s.nextPacketId();
        sendPublish(s, d.message, d.qos, d.retain, id, false, d.subscription_ids);
        const bool stored = d.seq != 0;
        unstoreQueued(s, d, false);  // its reference to the message moves to the in-flight record
        s.inflight.push_back(OutgoingInflight{id, std::move(d.message), d.qos, d.retain, false,
                                              std::move(d.subscription_ids), std::move(d.shared)});
        storeInflight(s, s.inflight.back(), !stored);
        stats_.inflight_messages.add();
    }
}

void Shard::resendInflight(Session& s) {
    // [MQTT-3.3.4-9] within the new connection's Receive Maximum: the rest go out as acknowledgements
    // free the window (drainQueue); [MQTT-3.1.2-25] one too large for the new connection is dropped.
    const size_t window = inflightWindow(s);
    size_t sent = 0;
    s.unsent_inflight = 0;
    const bool v5 = s.link->version == ProtocolVersion::kV5;
    for (auto it = s.inflight.begin(); it != s.inflight.end();) {
        auto& e = *it;
        e.unsent = false;
        if (!e.released && v5 && !fitsClient(*s.link, *e.message, e.qos, e.subscription_ids)) {
            stats_.dropped_too_large.add();
            unstoreInflight(s, e);
            it = s.inflight.erase(it);
            stats_.inflight_messages.sub();
            continue;
        }
        ++it;
        if (sent >= window) {
            e.unsent = true;
            ++s.unsent_inflight;
            continue;
        }
        ++sent;
        if (e.released) {
            // [MQTT-4.4.0-1] PUBREC was received: resend PUBREL.
            protocol::PubAck rel;
            rel.type = protocol::PacketType::kPubrel;
            rel.packet_id = e.packet_id;
            protocol::encodePubAck(s.link->writeBuffer(), rel, s.link->version);
            s.link->flushSoon();
            stats_.messages_sent.add();
        } else {
            sendPublish(s, e.message, e.qos, e.retain, e.packet_id, true, e.subscription_ids);
        }
    }
}

void Shard::sendPublish(Session& s, const MessagePtr& m, QoS qos, bool retain, uint16_t packet_id, bool dup,
                        const std::vector<uint32_t>& ids) {
    ClientLink& link = *s.link;
    const bool v5 = link.version == ProtocolVersion::kV5;
    protocol::Publish p;
    p.dup = dup;
    p.qos = qos;
    p.retain = retain;
    p.topic = m->topic();
    p.packet_id = packet_id;
    if (v5 && m->expiresAtMs()) {
        // The interval forwarded is the time left [MQTT-3.3.2-6].
        uint64_t now = systemNowMs();
        uint64_t left = m->expiresAtMs() > now ? (m->expiresAtMs() - now + 999) / 1000 : 0;
        p.properties.message_expiry_interval = static_cast<uint32_t>(left);
    }
    if (v5) {
        p.properties.subscription_identifiers = ids;
        if (link.client_topic_alias_maximum) {
            // Our own topic aliases [MQTT-3.1.2-26]: a topic sent once with its alias costs two bytes after.
            if (!link.aliases) link.aliases = std::make_unique<ClientLink::TopicAliases>();
            auto& ours = link.aliases->out;
            auto it = ours.find(m->topic());
            if (it != ours.end()) {
                p.topic = {};
                p.properties.topic_alias = it->second;
            } else if (ours.size() < link.client_topic_alias_maximum) {
                auto alias = static_cast<uint16_t>(ours.size() + 1);
                ours.emplace(std::string(m->topic()), alias);
                p.properties.topic_alias = alias;
            }
        }
    }
    protocol::Bytes& out = link.writeBuffer();
    size_t before = out.size();
    protocol::encodePublishHeader(out, p, v5 ? m->properties().size() : 0, m->payload().size(), link.version);
    size_t header = out.size() - before;
    link.writeMessageTail(m, v5);
    link.flushSoon();
    stats_.messages_sent.add();
    stats_.publish_out_by_qos[static_cast<int>(qos)].add();
    stats_.payload_out_by_qos[static_cast<int>(qos)].add(m->payload().size());
    stats_.bytes_sent.add(header + m->payload().size() + (v5 ? m->properties().size() : 0));
}

}  // namespace starling::broker
