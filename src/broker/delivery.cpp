// Routing and delivery: from one published message to the PUBLISH packets of every matching session,
// through the route index, the local trie, in-flight windows, queues and output limits.
#include <chrono>

#include "broker/shard.hpp"
#include "protocol/pub_ack.hpp"
#include "protocol/publish.hpp"

namespace starling::broker {

using protocol::ProtocolVersion;
using protocol::QoS;

namespace {
uint64_t systemNowMs() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}
}  // namespace

void Shard::publish(const MessagePtr& m) {
    if (m->retain()) broker_.retained().set(m);
    uint64_t workers = 0;
    routes_.match(m->topic(), [&](uint64_t& mask) { workers |= mask; });
    while (workers) {
        unsigned w = static_cast<unsigned>(__builtin_ctzll(workers));
        workers &= workers - 1;
        if (w == index_) {
            deliverLocal(m);
        } else {
            outbox_[w].push_back(m);
            outbox_mask_ |= uint64_t(1) << w;
        }
    }
}

void Shard::deliverBatch(std::vector<MessagePtr>& batch) {
    for (auto& m : batch)
        deliverLocal(m);
}

void Shard::deliverLocal(const MessagePtr& m) {
    uint64_t gen = ++match_generation_;
    matched_.clear();
    subscriptions_.match(m->topic(), [&](std::vector<Subscriber>& subs) {
        for (auto& sub : subs) {
            Session* s = sub.session;
            const auto& o = sub.entry.options;
            if (o.no_local && m->origin() == reinterpret_cast<uint64_t>(s)) continue;  // [MQTT-3.8.3-3]
            if (s->match_generation != gen) {
                s->match_generation = gen;
                s->match_qos = o.qos;
                s->match_retain_as_published = o.retain_as_published;
                matched_.push_back(s);
            } else {
                // [MQTT-3.3.5-1] overlapping subscriptions: one message at the highest granted QoS.
                if (o.qos > s->match_qos) s->match_qos = o.qos;
                s->match_retain_as_published |= o.retain_as_published;
            }
        }
    });
    for (Session* s : matched_) {
        // [MQTT-3.3.1-9] the retain flag is cleared on normal forwarding, unless v5 Retain As Published.
        deliver(*s, m, std::min(m->qos(), s->match_qos), s->match_retain_as_published && m->retain());
    }
}

size_t Shard::inflightWindow(const Session& s) const {
    size_t window = broker_.config().max_inflight_messages;
    return window == 0 ? 65535 : window;
}

void Shard::deliver(Session& s, const MessagePtr& m, QoS qos, bool retain) {
    if (m->expiresAtMs() && m->expired(systemNowMs())) {
        stats_.dropped_expired.add();
        return;
    }
    ClientLink* link = s.link;
    if (!link) {
        if (!s.persistent) return;
        if (qos == QoS::kAtMostOnce && !broker_.config().queue_qos0_messages) return;
        enqueue(s, m, qos, retain);
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
        sendPublish(s, m, qos, retain, 0, false);
        return;
    }
    if (!s.queue.empty() || s.inflight.size() >= inflightWindow(s)) {
        enqueue(s, m, qos, retain);
        return;
    }
    uint16_t id = s.nextPacketId();
    s.inflight.push_back(OutgoingInflight{id, m, qos, retain, false});
    stats_.inflight_messages.add();
    sendPublish(s, m, qos, retain, id, false);
}

void Shard::enqueue(Session& s, const MessagePtr& m, QoS qos, bool retain) {
    const auto& cfg = broker_.config();
    if ((cfg.max_queued_messages && s.queue.size() >= cfg.max_queued_messages) ||
        (cfg.max_queued_bytes && s.queued_bytes + m->size() > cfg.max_queued_bytes)) {
        stats_.dropped_queue_full.add();
        return;
    }
    s.queue.push_back(QueuedDelivery{m, qos, retain});
    s.queued_bytes += m->size();
    stats_.queued_messages.add();
}

void Shard::drainQueue(Session& s) {
    uint64_t now = 0;
    while (s.link && !s.queue.empty() &&
           (s.queue.front().qos == QoS::kAtMostOnce || s.inflight.size() < inflightWindow(s))) {
        QueuedDelivery d = std::move(s.queue.front());
        s.queue.pop_front();
        s.queued_bytes -= d.message->size();
        stats_.queued_messages.sub();
        if (d.message->expiresAtMs()) {
            if (!now) now = systemNowMs();
            if (d.message->expired(now)) {
                stats_.dropped_expired.add();
                continue;
            }
        }
        if (d.qos == QoS::kAtMostOnce) {
            sendPublish(s, d.message, d.qos, d.retain, 0, false);
            continue;
        }
        uint16_t id = s.nextPacketId();
        sendPublish(s, d.message, d.qos, d.retain, id, false);
        s.inflight.push_back(OutgoingInflight{id, std::move(d.message), d.qos, d.retain, false});
        stats_.inflight_messages.add();
    }
}

void Shard::resendInflight(Session& s) {
    for (auto& e : s.inflight) {
        if (e.released) {
            // [MQTT-4.4.0-1] PUBREC was received: resend PUBREL.
            protocol::PubAck rel;
            rel.type = protocol::PacketType::kPubrel;
            rel.packet_id = e.packet_id;
            protocol::encodePubAck(s.link->writeBuffer(), rel, s.link->version);
            s.link->flushSoon();
            stats_.messages_sent.add();
        } else {
            sendPublish(s, e.message, e.qos, e.retain, e.packet_id, true);
        }
    }
}

void Shard::sendPublish(Session& s, const MessagePtr& m, QoS qos, bool retain, uint16_t packet_id, bool dup) {
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
    protocol::Bytes& out = link.writeBuffer();
    size_t before = out.size();
    protocol::encodePublishHeader(out, p, v5 ? m->properties().size() : 0, m->payload().size(), link.version);
    size_t header = out.size() - before;
    link.writeMessageTail(m, v5);
    link.flushSoon();
    stats_.messages_sent.add();
    stats_.publish_sent.add();
    stats_.bytes_sent.add(header + m->payload().size() + (v5 ? m->properties().size() : 0));
}

}  // namespace starling::broker
