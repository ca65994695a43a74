// CONNECT: checks, session creation or resumption, takeover, CONNACK [MQTT 3.1.1 section 3.1].
#include <spdlog/spdlog.h>

#include "broker/shard.hpp"

#include "broker/clock.hpp"
#include "protocol/auth.hpp"
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
    bool busy = code == connackCode(v, ConnackCode311::kServerUnavailable, ReasonCode::kServerBusy);
    (busy ? stats_.refused_busy : stats_.refused_invalid).add();
    protocol::Connack ack;
    ack.code = code;
    protocol::encodeConnack(link.writeBuffer(), ack, v);
    link.flushSoon();
    stats_.messages_sent.add();
    spdlog::warn("Connection from {} refused: {}.", link.remoteAddress(), why);
    link.close_detail = why;
    link.close(CloseReason::kNotAuthorized);
}

namespace {
std::string addressWithoutPort(const std::string& address) {
    size_t colon = address.rfind(':');
    return colon == std::string::npos ? address : address.substr(0, colon);
}
}  // namespace

void Shard::refuseLogin(ClientLink& link, ProtocolVersion v, uint8_t code, std::string_view client_id,
                        std::string_view username, const std::string& why) {
    spdlog::warn("Client {} from {} (username '{}') failed to log in: {}.", client_id, link.remoteAddress(), username,
                 why);
    // Password guessing: from the 5th failure within a minute, an address waits a second more per failure
    // (up to 10) for each refusal.
    uint64_t now = systemNowMs();
    auto& f = failed_logins_[addressWithoutPort(link.remoteAddress())];
    if (now - f.first_ms > 60'000) f = FailedLogins{0, now};
    ++f.count;
    stats_.auth_failures.add();
    link.close_detail = why;
    if (f.count < 5) {
        protocol::Connack ack;
        ack.code = code;
        protocol::encodeConnack(link.writeBuffer(), ack, v);
        link.flushSoon();
        stats_.messages_sent.add();
        link.close(CloseReason::kNotAuthorized);
        return;
    }
    uint64_t delay = std::min<uint64_t>(f.count - 4, 10) * 1000;
    link.refusal_pending = true;
    delayed_refusals_.push_back(DelayedRefusal{&link, now + delay, v, code});
}

void Shard::continueAuth(ClientLink& link, std::string_view data) {
    auto& ea = *link.enhanced_auth;
    auto step = ea.exchange->step(data);
    const ProtocolVersion v = link.version;
    if (step.status == AuthExchange::Step::kContinue) {
        protocol::Auth a;
        a.reason = ReasonCode::kContinueAuthentication;
        a.properties.authentication_method = ea.method;
        a.properties.authentication_data = step.data;
        protocol::encodeAuth(link.writeBuffer(), a);
        link.flushSoon();
        stats_.messages_sent.add();
        return;
    }
    if (step.status == AuthExchange::Step::kFailure) {
        ea.exchange.reset();
        if (!link.connected) {
            return refuseLogin(link, v, static_cast<uint8_t>(ReasonCode::kNotAuthorized),
                               link.session ? link.session->clientId() : std::string("?"), "",
                               ea.method + ": " + step.error);
        }
        spdlog::warn("Client {} failed to re-authenticate: {}.", link.session->clientId(), step.error);
        return disconnect(link, ReasonCode::kNotAuthorized, CloseReason::kNotAuthorized, ea.method + ": " + step.error);
    }
    ea.exchange.reset();
    ea.data = step.data;
    if (link.connected) {
        // Re-authentication succeeded [MQTT-4.12.1-2]: AUTH 0x00 with the method's last word.
        link.session->grants.username = step.username;
        protocol::Auth a;
        a.reason = ReasonCode::kSuccess;
        a.properties.authentication_method = ea.method;
        if (!step.data.empty()) a.properties.authentication_data = ea.data;
        protocol::encodeAuth(link.writeBuffer(), a);
        link.flushSoon();
        stats_.messages_sent.add();
        return;
    }
    ea.user = step.username;
    if (ea.parked_connect.empty()) return;  // the CONNECT itself completed the exchange: handleConnect goes on
    auto connect = protocol::decodeConnect(ea.parked_flags, protocol::ByteSpan(ea.parked_connect));
    if (!connect) return protocolViolation(link, connect.error().rule, connect.error().reason);
    handleConnect(link, *connect, ea.parked_assigned_id, nullptr);
}

void Shard::handleAuth(ClientLink& link, const protocol::Auth& a) {
    // [MQTT-4.12.0-...] AUTH only after a CONNECT with an Authentication Method, with the same method.
    auto method = a.properties.authentication_method.value_or(std::string_view());
    if (!link.enhanced_auth || method != link.enhanced_auth->method) {
        return protocolViolation(link, "AUTH without, or with another, Authentication Method (MQTT 5.0 4.12)");
    }
    auto& ea = *link.enhanced_auth;
    auto data = a.properties.authentication_data.value_or(std::string_view());
    if (a.reason == ReasonCode::kReAuthenticate) {
        if (!link.connected || ea.exchange) return protocolViolation(link, "re-authentication while one is going on");
        ea.exchange = security().beginAuth(ea.method, link.listener_index);
        if (!ea.exchange) return disconnect(link, ReasonCode::kNotAuthorized, CloseReason::kNotAuthorized);
        return continueAuth(link, data);
    }
    if (a.reason != ReasonCode::kContinueAuthentication || !ea.exchange)
        return protocolViolation(link, "unexpected AUTH reason code (MQTT 5.0 3.15.2.1)");
    continueAuth(link, data);
}

void Shard::handleConnect(ClientLink& link, protocol::Connect& c, const std::string& assigned_id,
                          const protocol::Frame* frame) {
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
    if (c.will && c.will->retain && !cfg.retain_available) {
        // [MQTT-3.2.2-13] a retained will where retain is not available: v5 says 0x9A; earlier versions have
        // no code for it, so the connection is closed as Mosquitto does.
        if (v == ProtocolVersion::kV5) {
            return refuseConnect(link, v, static_cast<uint8_t>(ReasonCode::kRetainNotSupported),
                                 "retained will, and retain_available is false");
        }
        return protocolViolation(link, "retained will, and retain_available is false");
    }
    if (!link.enhanced_auth && v == ProtocolVersion::kV5 && c.properties.authentication_method) {
        // MQTT 5 enhanced authentication (section 4.12): the CONNECT waits while AUTH packets go back and forth.
        std::string method(*c.properties.authentication_method);
        auto exchange = security().beginAuth(method, link.listener_index);
        if (!exchange) {
            return refuseConnect(link, v, static_cast<uint8_t>(ReasonCode::kBadAuthenticationMethod),
                                 ("unsupported authentication method '" + method + "'").c_str());
        }
        link.enhanced_auth = std::make_unique<ClientLink::EnhancedAuth>();
        auto& ea = *link.enhanced_auth;
        ea.method = std::move(method);
        ea.exchange = std::move(exchange);
        ea.parked_assigned_id = assigned_id;
        if (frame) {
            ea.parked_flags = frame->flags();
            ea.parked_connect.assign(frame->body.begin(), frame->body.end());
        }
        auto data = c.properties.authentication_data.value_or(std::string_view());
        return continueAuth(link, data);
    }
    Grants grants;
    grants.listener = link.listener_index;
    if (link.enhanced_auth) {
        grants.username = link.enhanced_auth->user;  // enhanced authentication succeeded (continueAuth)
    } else {
        auto d = security().authenticate(c.client_id, c.username, c.password, link.tls_identity, link.listener_index);
        if (d.verdict != Security::Verdict::kOk) {
            // Mosquitto answers both with "not authorised" before v5; v5 tells bad credentials apart.
            uint8_t code = d.verdict == Security::Verdict::kBadCredentials
                               ? connackCode(v, ConnackCode311::kNotAuthorized, ReasonCode::kBadUserNameOrPassword)
                               : connackCode(v, ConnackCode311::kNotAuthorized, ReasonCode::kNotAuthorized);
            return refuseLogin(link, v, code, c.client_id, c.username.value_or(""), d.why);
        }
        grants = std::move(d.grants);
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
        dischargeOfflineQueue(old);  // its queue leaves the offline budget (evicted messages are read back)
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
    session->connected_at_ms = systemNowMs();
    session->version = v;
    session->expiry_interval = v == ProtocolVersion::kV5 ? c.properties.session_expiry_interval.value_or(0)
                               : c.clean_start           ? 0
                                                         : Session::kNeverExpires;
    session->connect_expiry = session->expiry_interval;
    session->persistent = session->expiry_interval != 0;
    session->grants = std::move(grants);
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
        session->will = std::make_unique<WillMessage>(std::move(w));
    }
    storeSession(*session);
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
        if (link.enhanced_auth) {
            ack.properties.authentication_method = link.enhanced_auth->method;
            if (!link.enhanced_auth->data.empty()) ack.properties.authentication_data = link.enhanced_auth->data;
        }
        if (c.properties.request_response_information.value_or(0) == 1) {
            // The basis of response topics for this client (request/response, MQTT 5.0 section 4.10).
            response_information = "response/" + session->clientId();
            ack.properties.response_information = response_information;
        }
    }
    protocol::encodeConnack(link.writeBuffer(), ack, v);
    link.flushSoon();
    stats_.messages_sent.add();

    if (!session->grants.username.empty()) {
        spdlog::info("New client connected from {} as {} (p{}, c{}, k{}, u'{}'{}).", link.remoteAddress(),
                     session->clientId(), static_cast<int>(v), c.clean_start ? 1 : 0, c.keep_alive,
                     session->grants.username, link.tls ? ", TLS" : "");
    } else {
        spdlog::info("New client connected from {} as {} (p{}, c{}, k{}{}).", link.remoteAddress(), session->clientId(),
                     static_cast<int>(v), c.clean_start ? 1 : 0, c.keep_alive, link.tls ? ", TLS" : "");
    }

    // [MQTT-4.4.0-1] resend unacknowledged PUBLISH (DUP) and PUBREL, then what was queued.
    resendInflight(*session);
    drainQueue(*session);
}

}  // namespace starling::broker
