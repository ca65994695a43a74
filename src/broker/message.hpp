#pragma once
// One application message as published: immutable once created and shared by reference by every
// delivery, queue and retained slot on every worker (zero-copy fan-out). Topic, forwardable v5
// properties and payload live in a single allocation after the header.
#include <atomic>
#include <cstdint>
#include <string_view>

#include "protocol/types.hpp"
#include "util/ref_ptr.hpp"

namespace starling::broker {

class Message;
using MessagePtr = RefPtr<const Message>;

class Message final : public RefCounted {
  public:
    struct Init {
        std::string_view topic;
        std::string_view payload;
        // v5 properties forwarded unchanged to subscribers, already encoded without length prefix
        // (payload format, content type, response topic, correlation data, user properties).
        std::string_view properties;
        protocol::QoS qos = protocol::QoS::kAtMostOnce;
        bool retain = false;
        // Absolute expiry in milliseconds of the system clock; 0 = never [MQTT-3.3.2-5].
        uint64_t expires_at_ms = 0;
        // Who published it (for v5 No Local); 0 = the broker itself.
        uint64_t origin = 0;
    };
    static MessagePtr create(const Init& init);
    static void destroy(const Message* m);

    std::string_view topic() const { return {data(), topic_size_}; }
    std::string_view properties() const { return {data() + topic_size_, props_size_}; }
    std::string_view payload() const { return {data() + topic_size_ + props_size_, payload_size_}; }
    protocol::QoS qos() const { return qos_; }
    bool retain() const { return retain_; }
    uint64_t expiresAtMs() const { return expires_at_ms_; }
    uint64_t origin() const { return origin_; }
    bool expired(uint64_t now_ms) const { return expires_at_ms_ != 0 && now_ms >= expires_at_ms_; }
    // Bytes this message holds (for queue and retained accounting).
    size_t size() const { return topic_size_ + props_size_ + payload_size_; }

    // Persistence bookkeeping (src/broker/persistence.cpp), the only mutable part: the id of the stored body
    // and how many stored records (queued and in-flight deliveries, pending routes) refer to it. Guarded by a
    // spin lock held for a few instructions, only for QoS 1/2 messages when persistence is on.
    struct Durable {
        std::atomic_flag lock = ATOMIC_FLAG_INIT;
        uint64_t id = 0;
        uint32_t refs = 0;
        uint64_t marked = 0;  // workers with a pending-route marker for it
        bool parked = false;  // `refs` is unused: the references are counted in Broker::parked under `id`
    };
    Durable& durable() const { return durable_; }

  private:
    Message() = default;
    const char* data() const { return reinterpret_cast<const char*>(this + 1); }

    uint64_t expires_at_ms_ = 0;
    uint64_t origin_ = 0;
    uint32_t payload_size_ = 0;
    uint16_t topic_size_ = 0;
    uint32_t props_size_ = 0;
    protocol::QoS qos_ = protocol::QoS::kAtMostOnce;
    bool retain_ = false;
    mutable Durable durable_;
};

}  // namespace starling::broker
