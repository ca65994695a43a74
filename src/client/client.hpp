#pragma once
// Asynchronous MQTT 3.1 / 3.1.1 / 5.0 client: QoS 0/1/2 with in-flight tracking and resend (DUP) on
// reconnect, keep-alive, will, clean or persistent sessions, v5 properties, optional automatic reconnect.
// Bound to one EventLoop: every call and every callback happens on that loop's thread; not thread-safe.
// Outgoing packets are encoded into one buffer that is written in large batches while a write is in flight.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client/client_options.hpp"
#include "client/event_loop.hpp"
#include "protocol/properties.hpp"
#include "protocol/publish.hpp"
#include "protocol/subscribe.hpp"

namespace starling::client {

struct ConnackInfo {
    uint8_t code = 0;  // CONNACK return code (3.1.x) or reason code (v5)
    bool session_present = false;
    const protocol::Properties* properties = nullptr;  // v5; valid during the callback
    // When this connection's CONNECT was handed to the transport (connect latency = now - connect_sent).
    std::chrono::steady_clock::time_point connect_sent{};
};

struct DisconnectInfo {
    // Empty for a disconnect the user asked for; otherwise why the connection ended ("Connection refused",
    // "Lookup error.", "keepalive timeout", a server's DISCONNECT reason...).
    std::string error;
    bool connected_before = false;  // false when the connection attempt itself failed
    bool will_reconnect = false;
    int server_reason = -1;  // v5 DISCONNECT reason code from the server, -1 if none
};

struct SubackInfo {
    uint16_t packet_id = 0;
    std::span<const uint8_t> codes;
    const protocol::Properties* properties = nullptr;
};

class Client {
  public:
    Client(EventLoop& loop, ClientOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Starts connecting (and keeps reconnecting when the policy says so). Returns false and sets `error`
    // when the transport cannot be set up (e.g. TLS files missing).
    [[nodiscard]] bool connect(std::string& error);
    // Sends DISCONNECT once queued packets are written, then closes; no reconnect afterwards.
    void disconnect(uint8_t reason = 0, const protocol::Properties* properties = nullptr);

    // Returns the message id (the packet id for QoS 1/2, a counter for QoS 0). Messages published while
    // disconnected are queued and sent after the next CONNACK.
    uint16_t publish(std::string_view topic, std::string_view payload, protocol::QoS qos, bool retain,
                     const protocol::Properties* properties = nullptr);
    uint16_t subscribe(std::span<const protocol::TopicSubscription> topics,
                       const protocol::Properties* properties = nullptr);
    uint16_t unsubscribe(std::span<const std::string_view> filters, const protocol::Properties* properties = nullptr);

    // Callbacks.
    void onConnect(std::function<void(const ConnackInfo&)> fn);
    void onDisconnect(std::function<void(const DisconnectInfo&)> fn);
    // The message's views are valid during the call only.
    void onMessage(std::function<void(const protocol::Publish&)> fn);
    // QoS 0: once written; QoS 1: PUBACK; QoS 2: PUBCOMP (or a v5 error reason on PUBREC).
    void onPublished(std::function<void(uint16_t mid, uint8_t reason)> fn);
    void onSubscribed(std::function<void(const SubackInfo&)> fn);
    void onUnsubscribed(std::function<void(const SubackInfo&)> fn);
    void onLog(std::function<void(const std::string&)> fn);
    // After each completed write, with the bytes still queued (a producer's back-pressure signal).
    void onWritten(std::function<void(size_t queued_bytes)> fn);

    bool connected() const;
    // Bytes encoded but not yet handed to the socket.
    size_t queuedBytes() const;
    // QoS 1/2 messages not yet completed (in flight plus waiting for a slot).
    size_t inflightCount() const;
    const ClientOptions& options() const;
    // The client id in use (the server-assigned one when v5 assigned it).
    const std::string& clientId() const;

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace starling::client
