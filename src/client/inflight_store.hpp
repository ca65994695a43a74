#pragma once
// Outgoing QoS 1/2 PUBLISH packets from the moment they are published until their handshake completes
// [MQTT-4.3.2, 4.3.3]: encoded once, resent with DUP on reconnect [MQTT-4.4.0-1], at most `window` in
// flight (the server's Receive Maximum) with the rest waiting in order. Owned by one Client; not thread-safe.
#include <cstdint>
#include <deque>
#include <functional>
#include <unordered_map>

#include "protocol/types.hpp"

namespace starling::client {

class InflightStore {
  public:
    enum class Stage : uint8_t { kWaiting, kAwaitAck, kAwaitPubcomp };

    explicit InflightStore(uint16_t window) : window_(window ? window : 1) {}

    void setWindow(uint16_t w) { window_ = w ? w : 1; }
    bool contains(uint16_t id) const { return entries_.count(id) != 0; }
    size_t size() const { return entries_.size(); }
    size_t active() const { return active_; }

    // Stores an encoded PUBLISH (QoS 1 or 2) under its packet id; it waits for a window slot.
    void add(uint16_t id, protocol::QoS qos, protocol::Bytes packet);
    // Moves waiting packets into flight while the window has room; `send` gets each packet.
    void drain(const std::function<void(const protocol::Bytes&)>& send);

    // Acknowledgements; each returns true when it completed a message (it is then forgotten).
    bool onPuback(uint16_t id);
    // PUBREC: true when the id was waiting for it (the caller answers with PUBREL). A v5 failure reason
    // ends the exchange: the message is forgotten and `failed` is set.
    bool onPubrec(uint16_t id, bool failure, bool& completed);
    bool onPubcomp(uint16_t id);

    // After a reconnect: PUBLISH again with DUP set, or PUBREL for those past PUBREC, oldest first.
    void resend(const std::function<void(const protocol::Bytes&)>& send_publish,
                const std::function<void(uint16_t)>& send_pubrel);
    void clear();

  private:
    struct Entry {
        protocol::Bytes packet;
        uint64_t seq = 0;
        protocol::QoS qos = protocol::QoS::kAtLeastOnce;
        Stage stage = Stage::kWaiting;
    };
    void finish(uint16_t id);

    std::unordered_map<uint16_t, Entry> entries_;
    std::deque<uint16_t> waiting_;
    size_t active_ = 0;
    uint16_t window_;
    uint64_t next_seq_ = 0;
};

}  // namespace starling::client
