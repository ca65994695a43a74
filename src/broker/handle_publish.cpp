// PUBLISH from a client: checks, QoS 1/2 acknowledgement, QoS 2 duplicate suppression, routing
// [MQTT 3.1.1 section 3.3, 4.3].
#include <spdlog/spdlog.h>

#include <chrono>

#include "broker/shard.hpp"

#include "broker/clock.hpp"
#include "protocol/pub_ack.hpp"
#include "protocol/wire.hpp"

namespace starling::broker {

using protocol::PacketType;
using protocol::ProtocolVersion;
using protocol::QoS;

namespace {

void sendAck(ClientLink& link, PacketType type, uint16_t id, protocol::ReasonCode rc = protocol::ReasonCode::kSuccess) {
    protocol::PubAck ack;
    ack.type = type;
    ack.packet_id = id;
    ack.reason = rc;
    protocol::encodePubAck(link.writeBuffer(), ack, link.version);
    link.flushSoon();
}

}  // namespace

void Shard::handlePublish(ClientLink& link, protocol::Publish& p) {
    Session& s = *link.session;
    const auto& cfg = broker_.config();
    stats_.publish_in_by_qos[static_cast<int>(p.qos)].add();
    stats_.payload_in_by_qos[static_cast<int>(p.qos)].add(p.payload.size());

    if (p.retain && !cfg.retain_available) {
        // Mosquitto: with retain_available false, a client sending a retained message is disconnected.
        return protocolViolation(link, "[MQTT-3.3.1-19] retain not available");
    }
    const bool v5 = link.version == ProtocolVersion::kV5;
    if (v5 && p.properties.topic_alias) {
        uint16_t alias = *p.properties.topic_alias;
        if (alias == 0 || alias > cfg.max_topic_alias) {
            // [MQTT-3.3.2-8] [MQTT-3.2.2-17] 0 and values above our Topic Alias Maximum are invalid.
            return disconnect(link, protocol::ReasonCode::kTopicAliasInvalid, CloseReason::kProtocolError,
                              "[MQTT-3.2.2-17] topic alias " + std::to_string(alias) + " out of range");
        }
        if (!link.aliases) link.aliases = std::make_unique<ClientLink::TopicAliases>();
        auto& in = link.aliases->in;
        if (in.size() < cfg.max_topic_alias) in.resize(cfg.max_topic_alias);
        std::string& known = in[alias - 1];
        if (!p.topic.empty()) {
            known.assign(p.topic);  // [MQTT-3.3.2-12] set or replace the mapping
        } else if (known.empty()) {
            return protocolViolation(link, "topic alias used before it was set (MQTT 5.0 section 3.3.2.3.4)");
        } else {
            p.topic = known;
        }
    }
    if (p.topic.empty()) return protocolViolation(link, "[MQTT-3.3.2-1] empty topic name");
    if (v5 && !p.properties.subscription_identifiers.empty()) {
        return protocolViolation(link, "[MQTT-3.3.4-6] PUBLISH from a client carries a Subscription Identifier");
    }

    if (p.qos == QoS::kExactlyOnce) {
        // [MQTT-4.3.3-9] a re-sent PUBLISH with a packet id awaiting PUBREL is acknowledged, not forwarded.
        if (s.incoming_qos2.count(p.packet_id)) {
            sendAck(link, PacketType::kPubrec, p.packet_id);
            stats_.messages_sent.add();
            return;
        }
        // [MQTT-3.3.4-7] no more unacknowledged QoS 2 than our Receive Maximum.
        if (v5 && cfg.max_inflight_messages && s.incoming_qos2.size() >= cfg.max_inflight_messages) {
            return disconnect(link, protocol::ReasonCode::kReceiveMaximumExceeded, CloseReason::kLimitExceeded,
                              "receive maximum exceeded");
        }
        s.incoming_qos2.insert(p.packet_id);
        storeIncoming(s, p.packet_id, true);  // committed before the PUBREC goes out
    }

    auto refusal = protocol::ReasonCode::kSuccess;

    bool accepted = true;
    if (p.topic.starts_with("$SYS")) {
        accepted = false;  // clients cannot publish into $SYS
        spdlog::debug("Client {} tried to publish to {}: dropped.", s.clientId(), p.topic);
        refusal = protocol::ReasonCode::kNotAuthorized;
    } else if (cfg.message_size_limit && p.payload.size() > cfg.message_size_limit) {
        accepted = false;
        spdlog::info("Client {} sent a {}-byte payload above message_size_limit: dropped.", s.clientId(),
                     p.payload.size());
        refusal = protocol::ReasonCode::kPacketTooLarge;
    } else if (!security().canPublish(s.clientId(), s.grants, p.topic)) {
        // The ACL: 3.1.1 drops it quietly (the ack still goes), v5 says 0x87.
        accepted = false;
        stats_.dropped_acl.add();
        spdlog::debug("Denied PUBLISH from {} to {}.", s.clientId(), p.topic);
        refusal = protocol::ReasonCode::kNotAuthorized;
    } else if (v5 && p.properties.payload_format_indicator.value_or(0) == 1 && !protocol::isValidUtf8(p.payload)) {
        // A payload said to be UTF-8 that is not: refused with 0x99 (MQTT 5.0 section 3.3.2.3.2).
        accepted = false;
        spdlog::info("Client {} sent a payload marked UTF-8 that is not: dropped.", s.clientId());
        refusal = protocol::ReasonCode::kPayloadFormatInvalid;
    }

    if (accepted) {
        Message::Init init;
        init.topic = p.topic;
        init.payload = p.payload;
        init.qos = p.qos;
        init.retain = p.retain;
        init.origin = reinterpret_cast<uint64_t>(&s);
        if (link.version == ProtocolVersion::kV5) {
            protocol::Properties fwd;
            fwd.payload_format_indicator = p.properties.payload_format_indicator;
            fwd.content_type = p.properties.content_type;
            fwd.response_topic = p.properties.response_topic;
            fwd.correlation_data = p.properties.correlation_data;
            fwd.user_properties = std::move(p.properties.user_properties);
            scratch_.clear();
            protocol::encodePropertyList(scratch_, fwd);
            init.properties = std::string_view(reinterpret_cast<const char*>(scratch_.data()), scratch_.size());
            if (p.properties.message_expiry_interval) {
                init.expires_at_ms = systemNowMs() + uint64_t(*p.properties.message_expiry_interval) * 1000;
            }
        }
        if (!publish(Message::create(init))) refusal = protocol::ReasonCode::kNoMatchingSubscribers;
    }

    // v5 acks say what happened; a refused QoS 2 message ends its exchange here [MQTT-4.3.3].
    auto rc = v5 ? refusal : protocol::ReasonCode::kSuccess;
    if (p.qos == QoS::kAtLeastOnce) {
        sendAck(link, PacketType::kPuback, p.packet_id, rc);
        stats_.messages_sent.add();
    } else if (p.qos == QoS::kExactlyOnce) {
        if (static_cast<uint8_t>(rc) >= 0x80) {
            s.incoming_qos2.erase(p.packet_id);
            storeIncoming(s, p.packet_id, false);
        }
        sendAck(link, PacketType::kPubrec, p.packet_id, rc);
        stats_.messages_sent.add();
    }
}

void Shard::handlePubAck(ClientLink& link, const protocol::PubAck& a) {
    Session& s = *link.session;
    auto find = [&](uint16_t id) {
        for (auto it = s.inflight.begin(); it != s.inflight.end(); ++it) {
            if (it->packet_id == id) return it;
        }
        return s.inflight.end();
    };
    // The exchange of an outgoing message is over: forget it, and send what waited for the window.
    auto complete = [&](RingQueue<OutgoingInflight>::iterator it) {
        unstoreInflight(s, *it);
        if (it->unsent) --s.unsent_inflight;
        s.inflight.erase(it);
        stats_.inflight_messages.sub();
        drainQueue(s);
    };
    switch (a.type) {
        case PacketType::kPuback: {
            auto it = find(a.packet_id);
            if (it != s.inflight.end() && it->qos == QoS::kAtLeastOnce) {
                complete(it);
            }
            break;
        }
        case PacketType::kPubrec: {
            auto it = find(a.packet_id);
            if (it != s.inflight.end() && it->qos == QoS::kExactlyOnce) {
                // [MQTT-4.3.3-4] the message may be dropped now; only the packet id stays in flight.
                it->released = true;
                if (it->seq && it->message) releaseDurable(*it->message);
                it->message.reset();
                storeInflight(s, *it, false);  // now only the packet id, for the PUBREL
            }
            bool known = it != s.inflight.end();
            if (link.version == ProtocolVersion::kV5 && static_cast<uint8_t>(a.reason) >= 0x80) {
                // A failed PUBREC ends the exchange [MQTT-4.3.3].
                if (known) complete(it);
                break;
            }
            sendAck(link, PacketType::kPubrel, a.packet_id,
                    known || link.version != ProtocolVersion::kV5 ? protocol::ReasonCode::kSuccess
                                                                  : protocol::ReasonCode::kPacketIdentifierNotFound);
            stats_.messages_sent.add();
            break;
        }
        case PacketType::kPubcomp: {
            auto it = find(a.packet_id);
            if (it != s.inflight.end() && it->qos == QoS::kExactlyOnce) {
                complete(it);
            }
            break;
        }
        case PacketType::kPubrel: {
            bool known = s.incoming_qos2.erase(a.packet_id) > 0;
            if (known) storeIncoming(s, a.packet_id, false);
            sendAck(link, PacketType::kPubcomp, a.packet_id,
                    known || link.version != ProtocolVersion::kV5 ? protocol::ReasonCode::kSuccess
                                                                  : protocol::ReasonCode::kPacketIdentifierNotFound);
            stats_.messages_sent.add();
            break;
        }
        default:
            break;
    }
}

}  // namespace starling::broker
