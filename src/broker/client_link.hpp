#pragma once
// A client connection as the broker core sees it: somewhere to write packets and a few bytes of state the
// core keeps per connection. The transport (src/net) implements the I/O; the core never sees a socket.
// Owned by one worker; not thread-safe.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/filter_trie.hpp"
#include "broker/message.hpp"
#include "broker/security.hpp"
#include "protocol/types.hpp"

namespace starling::broker {

class Session;

// Why a connection ended, for the log and for deciding whether the will is published.
enum class CloseReason : uint8_t {
    kNone,
    kClientDisconnect,          // DISCONNECT received: no will [MQTT-3.14.4-3]
    kClientDisconnectWithWill,  // v5 DISCONNECT 0x04
    kSocketClosed,              // peer closed or I/O error
    kKeepAliveTimeout,          // [MQTT-3.1.2-24]
    kProtocolError,             // malformed packet or rule violation
    kTakenOver,                 // same client id connected again [MQTT-3.1.4-2]
    kLimitExceeded,             // packet too large, output hard limit, ...
    kNotAuthorized,             // CONNECT refused
    kServerShutdown,
    kAdministrative,  // disconnected through the admin API
};
const char* closeReasonText(CloseReason r);

class ClientLink {
  public:
    virtual ~ClientLink() = default;

    // Packets are appended here; the transport writes them at the end of the loop turn. The reference is good
    // until the next writeBuffer() or writeMessageTail() call.
    virtual protocol::Bytes& writeBuffer() = 0;
    // Appends the shared tail of a PUBLISH: its encoded v5 properties (when `with_properties`) and payload.
    // Large payloads are written from the message itself, not copied.
    virtual void writeMessageTail(const MessagePtr& m, bool with_properties) = 0;
    // Schedules a write of what was appended (once per turn, however often called).
    virtual void flushSoon() = 0;
    // Bytes written to the link but not yet taken by the kernel.
    virtual uint64_t pendingOutputBytes() const = 0;
    // Writes what is pending, then closes. Further input is ignored; the core's onClosed follows.
    virtual void close(CloseReason reason) = 0;
    virtual const std::string& remoteAddress() const = 0;

    // State the core keeps per connection (small members side by side: there is one of these per client).
    Session* session = nullptr;
    protocol::ProtocolVersion version = protocol::ProtocolVersion::kV311;
    bool connected = false;  // CONNECT accepted
    CloseReason close_reason = CloseReason::kNone;
    uint16_t keep_alive = 0;        // seconds, 0 = none
    std::string close_detail;       // which rule, for the log
    uint64_t last_received_ms = 0;  // updated by the transport on every read
    uint64_t over_soft_limit_since_ms = 0;
    uint64_t id = 0;  // unique per broker run
    uint16_t listener_port = 0;
    bool tls = false;                             // arrived over TLS
    size_t listener_index = Grants::kNoListener;  // which configured listener it came through
    std::string tls_identity;  // client certificate CN or subject, when the listener makes it the username

    // MQTT 5: what the client told us in CONNECT, and the topic aliases of this network connection.
    uint16_t client_receive_maximum = 65535;  // caps our QoS 1/2 window toward it [MQTT-3.3.4-9]
    uint32_t client_maximum_packet = 0;       // 0: the protocol's maximum [MQTT-3.1.2-24]
    uint16_t client_topic_alias_maximum = 0;  // aliases we may send [MQTT-3.1.2-26] [MQTT-3.1.2-27]
    // Allocated when the first alias is set or sent: most connections use none.
    struct TopicAliases {
        std::vector<std::string> in;  // client's alias - 1 -> topic [MQTT-3.3.2-12]
        std::unordered_map<std::string, uint16_t, StringHash, std::equal_to<>> out;  // topic -> our alias
    };
    std::unique_ptr<TopicAliases> aliases;

    // MQTT 5 enhanced authentication: the method of this connection, the exchange going on, and the CONNECT
    // waiting for it to finish. Few connections use it, so it is allocated when CONNECT names a method.
    struct EnhancedAuth {
        std::string method;
        std::unique_ptr<AuthExchange> exchange;
        std::string user;  // who the exchange said the client is
        std::string data;  // the method's last word, for CONNACK
        uint8_t parked_flags = 0;
        std::vector<uint8_t> parked_connect;
        std::string parked_assigned_id;
    };
    std::unique_ptr<EnhancedAuth> enhanced_auth;  // null: CONNECT named no Authentication Method
    bool refusal_pending = false;                 // a failed login waits (password guessing) before CONNACK and close
};

}  // namespace starling::broker
