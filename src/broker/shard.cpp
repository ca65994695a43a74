#include "broker/shard.hpp"

#include "broker/clock.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "protocol/connack.hpp"
#include "protocol/disconnect.hpp"

namespace starling::broker {

using protocol::PacketType;
using protocol::ProtocolVersion;

Shard::Shard(Broker& broker, unsigned index) : broker_(broker), index_(index) {
    outbox_.resize(64);
    shared_outbox_.resize(64);
}

Shard::~Shard() = default;

const Security& Shard::security() {
    uint64_t g = broker_.securityGeneration();
    if (g != security_generation_ || !security_) {
        security_ = broker_.security();
        security_generation_ = g;
    }
    return *security_;
}

void Shard::onOpened(ClientLink& link) {
    links_.insert(&link);
    link.last_received_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

Shard::FrameOutcome Shard::onFrame(ClientLink& link, const protocol::Frame& frame) {
    stats_.messages_received.add();
    stats_.bytes_received.add(frame.size);
    if (link.refusal_pending) return {};  // [MQTT-3.1.4-5] nothing more is read from a refused client
    if (!link.connected) {
        if (link.enhanced_auth && link.enhanced_auth->exchange && frame.type() == PacketType::kAuth) {
            auto a = protocol::decodeAuth(frame.flags(), frame.body);
            if (!a) return protocolViolation(link, a.error().rule, a.error().reason), FrameOutcome{};
            handleAuth(link, *a);
            return {};
        }
        if (link.enhanced_auth) {
            protocolViolation(link, "[MQTT-3.1.4-6] only AUTH may follow a CONNECT being authenticated");
            return {};
        }
        if (frame.type() != PacketType::kConnect) {
            protocolViolation(link, "[MQTT-3.1.0-1] first packet was not CONNECT");
            return {};
        }
        auto connect = protocol::decodeConnect(frame.flags(), frame.body);
        if (!connect) {
            const auto& err = connect.error();
            if (err.reason == protocol::ReasonCode::kUnsupportedProtocolVersion) {
                // [MQTT-3.1.2-2] answer in the 3.1.1 format: return code 0x01, then close.
                refuseConnect(link, ProtocolVersion::kV311,
                              static_cast<uint8_t>(protocol::ConnackCode311::kUnacceptableProtocolVersion),
                              "unsupported protocol version");
                return {};
            }
            protocolViolation(link, err.rule);
            return {};
        }
        std::string assigned;
        if (connect->client_id.empty()) {
            // The assigned identifier is made to hash to this worker, so the connection never migrates.
            static thread_local uint64_t counter = 0;
            do {
                assigned = broker_.config().auto_id_prefix + std::to_string(broker_.start_time_ms()) + "-" +
                           std::to_string(index_) + "-" + std::to_string(++counter);
            } while (broker_.ownerOf(assigned) != index_);
        } else {
            unsigned owner = broker_.ownerOf(connect->client_id);
            if (owner != index_) return {FrameOutcome::kMigrate, owner};
        }
        handleConnect(link, *connect, assigned, &frame);
        return {};
    }

    const ProtocolVersion v = link.version;
    switch (frame.type()) {
        case PacketType::kPublish: {
            auto p = protocol::decodePublish(frame.flags(), frame.body, v);
            if (!p) return protocolViolation(link, p.error().rule, p.error().reason), FrameOutcome{};
            handlePublish(link, *p);
            break;
        }
        case PacketType::kPuback:
        case PacketType::kPubrec:
        case PacketType::kPubrel:
        case PacketType::kPubcomp: {
            auto a = protocol::decodePubAck(frame.first_byte, frame.body, v);
            if (!a) return protocolViolation(link, a.error().rule, a.error().reason), FrameOutcome{};
            handlePubAck(link, *a);
            break;
        }
        case PacketType::kSubscribe: {
            auto s = protocol::decodeSubscribe(frame.flags(), frame.body, v);
            if (!s) return protocolViolation(link, s.error().rule, s.error().reason), FrameOutcome{};
            handleSubscribe(link, *s);
            break;
        }
        case PacketType::kUnsubscribe: {
            auto u = protocol::decodeUnsubscribe(frame.flags(), frame.body, v);
            if (!u) return protocolViolation(link, u.error().rule, u.error().reason), FrameOutcome{};
            handleUnsubscribe(link, *u);
            break;
        }
        case PacketType::kPingreq: {
            auto p = protocol::decodePingreq(frame.flags(), frame.body);
            if (!p) return protocolViolation(link, p.error().rule, p.error().reason), FrameOutcome{};
            protocol::encodePingresp(link.writeBuffer());
            link.flushSoon();
            stats_.messages_sent.add();
            break;
        }
        case PacketType::kDisconnect: {
            auto d = protocol::decodeDisconnect(frame.flags(), frame.body, v);
            if (!d) return protocolViolation(link, d.error().rule, d.error().reason), FrameOutcome{};
            handleDisconnect(link, *d);
            break;
        }
        case PacketType::kAuth: {
            if (v != ProtocolVersion::kV5) return protocolViolation(link, "AUTH before MQTT 5"), FrameOutcome{};
            auto a = protocol::decodeAuth(frame.flags(), frame.body);
            if (!a) return protocolViolation(link, a.error().rule, a.error().reason), FrameOutcome{};
            handleAuth(link, *a);
            break;
        }
        case PacketType::kConnect:
            protocolViolation(link, "[MQTT-3.1.0-2] second CONNECT");
            break;
        default:
            protocolViolation(link, "packet type not sent by clients");
            break;
    }
    return {};
}

void Shard::protocolViolation(ClientLink& link, const char* rule, protocol::ReasonCode rc) {
    // A decode error's reason is malformed packet (0x81) or protocol error (0x82) or more precise.
    if (static_cast<uint8_t>(rc) < 0x80) rc = protocol::ReasonCode::kProtocolError;
    disconnect(link, rc, CloseReason::kProtocolError, rule ? rule : "");
}

void Shard::disconnect(ClientLink& link, protocol::ReasonCode rc, CloseReason why, std::string detail) {
    if (link.close_reason != CloseReason::kNone) return;
    if (link.connected && link.version == ProtocolVersion::kV5) {
        protocol::Disconnect d;
        d.reason = rc;
        protocol::encodeDisconnect(link.writeBuffer(), d, ProtocolVersion::kV5);
        stats_.messages_sent.add();
    }
    link.close_detail = std::move(detail);
    link.close(why);
}

void Shard::handleDisconnect(ClientLink& link, const protocol::Disconnect& d) {
    Session& s = *link.session;
    if (auto e = d.properties.session_expiry_interval) {
        // A session that was to end at disconnect cannot be given an expiry now (MQTT 5.0 3.14.2.2.2).
        if (s.connect_expiry == 0 && *e != 0) {
            return protocolViolation(link, "session expiry set on DISCONNECT after 0 on CONNECT (3.14.2.2.2)");
        }
        s.expiry_interval = *e;
        s.persistent = *e != 0;
        storeSession(s);
    }
    // [MQTT-3.14.4-3] a DISCONNECT discards the will; v5 reason 0x04 asks for it to be sent.
    if (d.reason == protocol::ReasonCode::kDisconnectWithWillMessage) {
        link.close(CloseReason::kClientDisconnectWithWill);
    } else {
        if (link.session) link.session->will.reset();
        link.close(CloseReason::kClientDisconnect);
    }
}

void Shard::onClosed(ClientLink& link) {
    links_.erase(&link);
    if (link.refusal_pending) {
        std::erase_if(delayed_refusals_, [&](const DelayedRefusal& r) { return r.link == &link; });
    }
    Session* s = link.session;
    if (!s) {
        if (link.connected) return;
        spdlog::debug("Connection from {} closed before CONNECT ({}{}{}).", link.remoteAddress(),
                      closeReasonText(link.close_reason), link.close_detail.empty() ? "" : ": ", link.close_detail);
        return;
    }
    link.session = nullptr;
    s->link = nullptr;
    stats_.clients_connected.sub();
    CloseReason reason = link.close_reason == CloseReason::kNone ? CloseReason::kSocketClosed : link.close_reason;
    if (reason == CloseReason::kClientDisconnect) {
        spdlog::info("Client {} disconnected.", s->clientId());
    } else {
        spdlog::info("Client {} closed its connection: {}{}{}.", s->clientId(), closeReasonText(reason),
                     link.close_detail.empty() ? "" : ": ", link.close_detail);
    }
    uint64_t now_ms = systemNowMs();
    s->disconnected_at_ms = now_ms;
    s->last_close = reason;
    noteDisconnect(*s, link, reason, now_ms);
    if (reason == CloseReason::kClientDisconnect || reason == CloseReason::kServerShutdown) {
        s->will.reset();
    } else if (s->will && s->will->delay && s->expiry_interval) {
        // [MQTT-3.1.3-9] published after the delay or when the session ends, whichever is first, and not
        // at all if the client reconnects first.
        s->will_due_ms = now_ms + uint64_t(std::min(s->will->delay, s->expiry_interval)) * 1000;
    } else {
        publishWill(*s);
    }
    if (!s->persistent) return endSession(*s);
    if (s->expiry_interval != Session::kNeverExpires) s->expires_at_ms = now_ms + uint64_t(s->expiry_interval) * 1000;
    if (s->expires_at_ms || s->will_due_ms) offline_timed_.insert(s);
    storeSession(*s);  // absolute expiry and will times survive a restart
    chargeOfflineQueue(*s, true);
}

void Shard::expireSessions(uint64_t now_ms) {
    std::vector<Session*> ended;
    for (Session* s : offline_timed_) {
        if (s->will_due_ms && now_ms >= s->will_due_ms) {
            s->will_due_ms = 0;
            publishWill(*s);
            storeSession(*s);
        }
        if (s->expires_at_ms && now_ms >= s->expires_at_ms) ended.push_back(s);
    }
    for (Session* s : ended) {
        spdlog::info("Session of client {} expired.", s->clientId());
        publishWill(*s);  // a will still waiting goes out when the session ends [MQTT-3.1.3-9]
        endSession(*s);
    }
    for (auto it = offline_timed_.begin(); it != offline_timed_.end();) {
        if (!(*it)->expires_at_ms && !(*it)->will_due_ms) {
            it = offline_timed_.erase(it);
        } else {
            ++it;
        }
    }
}

void Shard::endSession(Session& s) {
    offline_timed_.erase(&s);
    removeAllSubscriptions(s);
    redistributeShared(s);
    storeEndSession(s);
    dischargeOfflineQueue(s);
    stats_.queued_messages.sub(s.queue.size());
    for (const auto& d : s.queue)
        if (!d.message) stats_.queued_evicted.sub();
    stats_.inflight_messages.sub(s.inflight.size());
    stats_.clients_total.sub();
    std::string id = s.clientId();
    sessions_.erase(id);
}

void Shard::publishWill(Session& s) {
    if (!s.will) return;
    const WillMessage& w = *s.will;
    Message::Init init;
    init.topic = w.topic;
    init.payload = w.payload;
    init.properties = w.properties;
    init.qos = w.qos;
    init.retain = w.retain;
    init.origin = reinterpret_cast<uint64_t>(&s);
    if (w.message_expiry) {
        init.expires_at_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                       std::chrono::system_clock::now().time_since_epoch())
                                                       .count()) +
                             uint64_t(w.message_expiry) * 1000;
    }
    MessagePtr m = Message::create(init);  // copies out of the will before it goes
    s.will.reset();
    publish(m);
}

void Shard::tick(uint64_t now_ms) {
    const auto& cfg = broker_.config();
    for (ClientLink* link : links_) {
        if (link->close_reason != CloseReason::kNone || link->refusal_pending) continue;
        if (!link->connected) {
            // A socket that never sends CONNECT is dropped (half-open and idle sockets).
            if (now_ms - link->last_received_ms > 10'000) {
                link->close_detail = "no CONNECT within 10 seconds";
                link->close(CloseReason::kKeepAliveTimeout);
            }
            continue;
        }
        // [MQTT-3.1.2-24] one and a half times the keep-alive without a packet.
        if (link->keep_alive && now_ms - link->last_received_ms > uint64_t(link->keep_alive) * 1500) {
            disconnect(*link, protocol::ReasonCode::kKeepAliveTimeout, CloseReason::kKeepAliveTimeout);
            continue;
        }
        uint64_t pending = link->pendingOutputBytes();
        if (pending > cfg.output_limit_soft) {
            if (!link->over_soft_limit_since_ms) link->over_soft_limit_since_ms = now_ms;
        } else {
            link->over_soft_limit_since_ms = 0;
        }
    }
    if (!offline_timed_.empty()) expireSessions(now_ms);
    if (!delayed_refusals_.empty()) {
        std::vector<DelayedRefusal> due;
        std::erase_if(delayed_refusals_, [&](const DelayedRefusal& r) {
            if (r.due_ms > now_ms) return false;
            due.push_back(r);
            return true;
        });
        for (auto& r : due) {
            protocol::Connack ack;
            ack.code = r.code;
            protocol::encodeConnack(r.link->writeBuffer(), ack, r.version);
            r.link->flushSoon();
            r.link->refusal_pending = false;
            r.link->close(CloseReason::kNotAuthorized);
        }
    }
    if (!failed_logins_.empty()) {
        std::erase_if(failed_logins_, [&](const auto& kv) { return now_ms - kv.second.first_ms > 60'000; });
    }
    if (index_ == 0) publishSys(now_ms);
}

void Shard::flush() {
    commitStore(systemNowMs());
    if (std::exchange(marked_elsewhere_, false) && broker_.failpoint_kill_before_handoff && outbox_mask_) {
        spdlog::warn(
            "Failpoint kill-before-handoff: not handing this turn's messages on; dying once its "
            "acknowledgements are written.");
        kill_due_ = true;
        for (; outbox_mask_; outbox_mask_ &= outbox_mask_ - 1) {
            unsigned w = static_cast<unsigned>(__builtin_ctzll(outbox_mask_));
            outbox_[w] = {};
            shared_outbox_[w] = {};
        }
    }
    while (outbox_mask_) {
        unsigned w = static_cast<unsigned>(__builtin_ctzll(outbox_mask_));
        outbox_mask_ &= outbox_mask_ - 1;
        Shard* target = &broker_.shard(w);
        target->backlog_.fetch_add(static_cast<int64_t>(outbox_[w].size()), std::memory_order_relaxed);
        broker_.post(w, [target, batch = std::move(outbox_[w]), shared = std::move(shared_outbox_[w])]() mutable {
            target->deliverBatch(batch);
            for (auto& [m, key] : shared)
                target->deliverShared(m, key);
        });
        outbox_[w] = {};
        shared_outbox_[w] = {};
    }
}

void Shard::shutdown() {
    std::vector<ClientLink*> links(links_.begin(), links_.end());
    for (ClientLink* link : links) {
        if (link->close_reason == CloseReason::kNone)
            disconnect(*link, protocol::ReasonCode::kServerShuttingDown, CloseReason::kServerShutdown);
    }
}

}  // namespace starling::broker
