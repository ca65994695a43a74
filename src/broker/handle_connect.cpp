// CONNECT: checks, session creation or resumption, takeover, CONNACK [MQTT 3.1.1 section 3.1].
#include <spdlog/spdlog.h>

#include "broker/shard.hpp"
#include "protocol/connack.hpp"

namespace starling::broker {

using protocol::ConnackCode311;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

namespace {

// The v5 reason code for a 3.1.1 CONNACK return code.
uint8_t connackCode(ProtocolVersion v, ConnackCode311 code311, ReasonCode code5) {
    return v == ProtocolVersion::kV5 ? static_cast<uint8_t>(code5) : static_cast<uint8_t>(code311);
}

std::string encodeForwardableProperties(const protocol::Properties& in) {
    protocol::Properties fwd;
    fwd.payload_format_indicator = in.payload_format_indicator;
    fwd.content_type = in.content_type;
    fwd.response_topic = in.response_topic;
    fwd.correlation_data = in.correlation_data;
    fwd.user_properties = in.user_properties;
    protocol::Bytes out;
    protocol::encodePropertyList(out, fwd);
    return std::string(out.begin(), out.end());
}

}  // namespace

void Shard::refuseConnect(ClientLink& link, ProtocolVersion v, uint8_t code, const char* why) {
    protocol::Connack ack;
    ack.code = code;
    protocol::encodeConnack(link.writeBuffer(), ack, v);
    link.flushSoon();
    stats_.messages_sent.add();
    spdlog::warn("Connection from {} refused: {}.", link.remoteAddress(), why);
    link.close_detail = why;
    link.close(CloseReason::kNotAuthorized);
}

void Shard::handleConnect(ClientLink& link, protocol::Connect& c, const std::string& assigned_id) {
    const auto& cfg = broker_.config();
    const ProtocolVersion v = c.version;
    link.version = v;

    if (c.client_id.empty()) {
        // [MQTT-3.1.3-8] an empty client id needs a clean session (3.1.1); MQTT 3.1 has no empty ids.
        if (v == ProtocolVersion::kV31 || (v == ProtocolVersion::kV311 && !c.clean_start) ||
            !cfg.allow_zero_length_clientid) {
            return refuseConnect(
                link, v, connackCode(v, ConnackCode311::kIdentifierRejected, ReasonCode::kClientIdentifierNotValid),
                "empty client identifier not allowed");
        }
        c.client_id = assigned_id;
    }
    if (cfg.max_connections >= 0 && broker_.connections.load() > cfg.max_connections) {
        return refuseConnect(link, v, connackCode(v, ConnackCode311::kServerUnavailable, ReasonCode::kServerBusy),
                             "max_connections reached");
    }
    if (v != ProtocolVersion::kV5 && cfg.max_keepalive < 65535 &&
        (c.keep_alive > cfg.max_keepalive || c.keep_alive == 0)) {
        // Mosquitto's behaviour for clients that cannot be told a Server Keep Alive.
        return refuseConnect(link, v, static_cast<uint8_t>(ConnackCode311::kIdentifierRejected),
                             "keep-alive above max_keepalive");
    }
    if (!broker_.allowAnonymous()) {
        // No password file or other authentication yet (security issue): only anonymous access exists.
        return refuseConnect(link, v, connackCode(v, ConnackCode311::kNotAuthorized, ReasonCode::kNotAuthorized),
                             "not authorised (allow_anonymous false)");
    }

    bool session_present = false;
    Session* session = nullptr;
    auto it = sessions_.find(c.client_id);
    if (it != sessions_.end()) {
        Session& old = *it->second;
        if (old.link) {
            // [MQTT-3.1.4-2] the existing connection is closed; its will is published.
            ClientLink* old_link = old.link;
            spdlog::info("Client {} already connected, closing old connection.", old.clientId());
            old_link->session = nullptr;
            old.link = nullptr;
            stats_.clients_connected.sub();
            // [MQTT-3.1.3-9] a delayed will is not sent when the session goes on on the new connection.
            if (old.will && old.will->delay && !c.clean_start) old.will.reset();
            publishWill(old);
            disconnect(*old_link, ReasonCode::kSessionTakenOver, CloseReason::kTakenOver);
        }
        // Back online: no expiry, and a will still waiting for its delay is not sent [MQTT-3.1.3-9].
        old.expires_at_ms = 0;
        old.will_due_ms = 0;
        offline_timed_.erase(&old);
        if (c.clean_start) {
            endSession(old);
        } else {
            session = &old;
            session_present = true;
        }
    }
    if (!session) {
        auto fresh = std::make_unique<Session>(std::string(c.client_id));
        session = fresh.get();
        sessions_.emplace(session->clientId(), std::move(fresh));
        stats_.clients_total.add();
    }

    session->link = &link;
    session->version = v;
    session->expiry_interval = v == ProtocolVersion::kV5 ? c.properties.session_expiry_interval.value_or(0)
                               : c.clean_start           ? 0
                                                         : Session::kNeverExpires;
    session->connect_expiry = session->expiry_interval;
    session->persistent = session->expiry_interval != 0;
    // A listener with use_identity_as_username / use_subject_as_username: the certificate names the client.
    session->username = !link.tls_identity.empty() ? link.tls_identity
                        : c.username               ? std::string(*c.username)
                                                   : std::string();
    session->will.reset();
    if (c.will) {
        WillMessage w;
        w.topic = std::string(c.will->topic);
        w.payload = std::string(c.will->payload);
        w.qos = c.will->qos;
        w.retain = c.will->retain;
        if (v == ProtocolVersion::kV5) {
            w.properties = encodeForwardableProperties(c.will->properties);
            w.message_expiry = c.will->properties.message_expiry_interval.value_or(0);
            w.delay = c.will->properties.will_delay_interval.value_or(0);
        }
        session->will = std::move(w);
    }
    link.session = session;
    link.connected = true;
    link.keep_alive = c.keep_alive;
    if (v == ProtocolVersion::kV5) {
        link.client_receive_maximum = c.properties.receive_maximum.value_or(65535);
        link.client_maximum_packet = c.properties.maximum_packet_size.value_or(0);
        link.client_topic_alias_maximum = c.properties.topic_alias_maximum.value_or(0);
    }
    stats_.clients_connected.add();
    stats_.connections_total.add();

    std::string response_information;
    protocol::Connack ack;
    ack.session_present = session_present;
    ack.code = 0;
    if (v == ProtocolVersion::kV5) {
        if (!assigned_id.empty()) ack.properties.assigned_client_identifier = session->clientId();
        if (!cfg.retain_available) ack.properties.retain_available = 0;
        if (cfg.max_keepalive < 65535 && (c.keep_alive > cfg.max_keepalive || c.keep_alive == 0)) {
            ack.properties.server_keep_alive = cfg.max_keepalive;
            link.keep_alive = cfg.max_keepalive;
        }
        if (cfg.max_inflight_messages) ack.properties.receive_maximum = cfg.max_inflight_messages;
        if (cfg.max_packet_size) ack.properties.maximum_packet_size = cfg.max_packet_size;
        if (cfg.max_topic_alias) ack.properties.topic_alias_maximum = cfg.max_topic_alias;
        if (c.properties.request_response_information.value_or(0) == 1) {
            // The basis of response topics for this client (request/response, MQTT 5.0 section 4.10).
            response_information = "response/" + session->clientId();
            ack.properties.response_information = response_information;
        }
    }
    protocol::encodeConnack(link.writeBuffer(), ack, v);
    link.flushSoon();
    stats_.messages_sent.add();

    if (!session->username.empty()) {
        spdlog::info("New client connected from {} as {} (p{}, c{}, k{}, u'{}'{}).", link.remoteAddress(),
                     session->clientId(), static_cast<int>(v), c.clean_start ? 1 : 0, c.keep_alive, session->username,
                     link.tls ? ", TLS" : "");
    } else {
        spdlog::info("New client connected from {} as {} (p{}, c{}, k{}{}).", link.remoteAddress(), session->clientId(),
                     static_cast<int>(v), c.clean_start ? 1 : 0, c.keep_alive, link.tls ? ", TLS" : "");
    }

    // [MQTT-4.4.0-1] resend unacknowledged PUBLISH (DUP) and PUBREL, then what was queued.
    resendInflight(*session);
    drainQueue(*session);
}

}  // namespace starling::broker
