#pragma once
// Everything a Client needs to connect: broker address, protocol level, session, credentials, will, TLS,
// reconnect policy. The client copies these; plain values.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "client/owned_properties.hpp"
#include "client/tls_options.hpp"
#include "protocol/types.hpp"

namespace starling::client {

struct WillOptions {
    std::string topic;
    std::string payload;
    protocol::QoS qos = protocol::QoS::kAtMostOnce;
    bool retain = false;
    OwnedProperties properties;  // v5
};

// Capped exponential backoff with jitter: the n-th retry waits a random time in [d/2, d] where
// d = min(max_delay, initial_delay * 2^n).
struct ReconnectPolicy {
    bool enabled = false;
    std::chrono::milliseconds initial_delay{1000};
    std::chrono::milliseconds max_delay{30000};
};

struct ClientOptions {
    std::string host = "localhost";
    uint16_t port = 1883;
    protocol::ProtocolVersion version = protocol::ProtocolVersion::kV311;
    std::string client_id;
    bool clean_start = true;
    uint16_t keep_alive = 60;  // seconds; 0 disables pings
    std::optional<std::string> username;
    std::optional<std::string> password;
    std::optional<WillOptions> will;
    OwnedProperties connect_properties;  // v5
    TlsOptions tls;
    bool tcp_nodelay = false;
    ReconnectPolicy reconnect;
    // QoS 1/2 PUBLISH packets in flight at once (further ones wait); v5's server Receive Maximum lowers it.
    uint16_t max_inflight = 20;
    // Debug lines ("Client x sending CONNECT") go to the log callback when set.
    bool debug = false;
};

}  // namespace starling::client
