// PUBLISH from a client: checks, QoS 1/2 acknowledgement, QoS 2 duplicate suppression, routing
// [MQTT 3.1.1 section 3.3, 4.3].
#include <spdlog/spdlog.h>

#include <chrono>

#include "broker/shard.hpp"
#include "protocol/pub_ack.hpp"

namespace starling::broker {

using protocol::PacketType;
using protocol::ProtocolVersion;
using protocol::QoS;

namespace {

uint64_t systemNowMs() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

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
    stats_.publish_received.add();

    if (p.retain && !cfg.retain_available) {
        // Mosquitto: with retain_available false, a client sending a retained message is disconnected.
        return protocolViolation(link, "[MQTT-3.3.1-19] retain not available");
    }
    if (p.topic.empty()) {
        // Topic aliases arrive with the MQTT 5 issue; until then an empty topic is refused.
        return protocolViolation(link, "[MQTT-3.3.2-1] empty topic name");
    }

    if (p.qos == QoS::kExactlyOnce) {
        // [MQTT-4.3.3-9] a re-sent PUBLISH with a packet id awaiting PUBREL is acknowledged, not forwarded.
        if (!s.incoming_qos2.insert(p.packet_id).second) {
            sendAck(link, PacketType::kPubrec, p.packet_id);
            stats_.messages_sent.add();
            return;
        }
    }

    bool accepted = true;
    if (p.topic.starts_with("$SYS")) {
        accepted = false;  // clients cannot publish into $SYS
        spdlog::debug("Client {} tried to publish to {}: dropped.", s.clientId(), p.topic);
    } else if (cfg.message_size_limit && p.payload.size() > cfg.message_size_limit) {
        accepted = false;
        spdlog::info("Client {} sent a {}-byte payload above message_size_limit: dropped.", s.clientId(),
                     p.payload.size());
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
        publish(Message::create(init));
    }

    if (p.qos == QoS::kAtLeastOnce) {
        sendAck(link, PacketType::kPuback, p.packet_id);
        stats_.messages_sent.add();
    } else if (p.qos == QoS::kExactlyOnce) {
        sendAck(link, PacketType::kPubrec, p.packet_id);
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
    switch (a.type) {
        case PacketType::kPuback: {
            auto it = find(a.packet_id);
            if (it != s.inflight.end() && it->qos == QoS::kAtLeastOnce) {
                s.inflight.erase(it);
                stats_.inflight_messages.sub();
                drainQueue(s);
            }
            break;
        }
        case PacketType::kPubrec: {
            auto it = find(a.packet_id);
            if (it != s.inflight.end() && it->qos == QoS::kExactlyOnce) {
                // [MQTT-4.3.3-4] the message may be dropped now; only the packet id stays in flight.
                it->released = true;
                it->message.reset();
            }
            bool known = it != s.inflight.end();
            if (link.version == ProtocolVersion::kV5 && static_cast<uint8_t>(a.reason) >= 0x80) {
                // A failed PUBREC ends the exchange [MQTT-4.3.3].
                if (known) {
                    s.inflight.erase(it);
                    stats_.inflight_messages.sub();
                    drainQueue(s);
                }
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
                s.inflight.erase(it);
                stats_.inflight_messages.sub();
                drainQueue(s);
            }
            break;
        }
        case PacketType::kPubrel: {
            bool known = s.incoming_qos2.erase(a.packet_id) > 0;
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
