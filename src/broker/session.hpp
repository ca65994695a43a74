#pragma once
// One client's session [MQTT 3.1.1 section 4.1]: subscriptions, outgoing QoS 1/2 in flight, messages
// queued while offline or while the in-flight window is full, and incoming QoS 2 packet ids awaiting
// PUBREL. It outlives its connection when the session is persistent. Owned by one worker.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/client_link.hpp"
#include "broker/message.hpp"
#include "broker/security.hpp"
#include "protocol/subscribe.hpp"
#include "protocol/types.hpp"
#include "util/ring_queue.hpp"

namespace starling::broker {

struct SubscriptionEntry {
    protocol::SubscriptionOptions options;
    uint32_t identifier = 0;  // v5 subscription identifier, 0 = none
};

struct WillMessage {
    std::string topic;
    std::string payload;
    std::string properties;  // encoded forwardable v5 properties
    protocol::QoS qos = protocol::QoS::kAtMostOnce;
    bool retain = false;
    uint32_t message_expiry = 0;  // v5, seconds; 0 = none
    uint32_t delay = 0;           // v5 Will Delay Interval, seconds
};

struct OutgoingInflight {
    uint16_t packet_id = 0;
    MessagePtr message;
    protocol::QoS qos = protocol::QoS::kAtLeastOnce;
    bool retain = false;
    bool released = false;                   // QoS 2: PUBREC received, PUBREL sent, waiting for PUBCOMP
    std::vector<uint32_t> subscription_ids;  // v5, of every matching subscription [MQTT-3.3.4-3]
    std::string shared;                      // "$share/GROUP/FILTER" when sent through a shared subscription
    uint64_t seq = 0;                        // its record in the store (0: not stored)
    bool unsent = false;                     // held back at reconnect by the client's Receive Maximum
};

struct QueuedDelivery {
    MessagePtr message;  // null when evicted: the body is read back from the store before it is sent
    protocol::QoS qos = protocol::QoS::kAtMostOnce;
    bool retain = false;
    std::vector<uint32_t> subscription_ids;
    std::string shared;          // as in OutgoingInflight
    uint64_t seq = 0;            // its record in the store (0: not stored)
    uint64_t message_id = 0;     // evicted: the id of the stored body (M record)
    uint32_t evicted_bytes = 0;  // evicted: the message's size() (queue accounting)

    size_t bytes() const { return message ? message->size() : evicted_bytes; }
};

class Session {
  public:
    explicit Session(std::string client_id) : client_id_(std::move(client_id)) {}

    const std::string& clientId() const { return client_id_; }

    static constexpr uint32_t kNeverExpires = 0xFFFFFFFF;

    ClientLink* link = nullptr;  // null while offline
    // Small members side by side: a session's size decides the allocator's size class for every client.
    bool persistent = false;  // outlives its connection: expiry_interval > 0
    protocol::ProtocolVersion version = protocol::ProtocolVersion::kV311;
    CloseReason last_close = CloseReason::kNone;  // why the last connection ended (admin API)
    mutable bool stored = false;                  // has a session record in the store
    uint32_t expiry_interval = 0;                 // seconds after the connection ends (3.1.1 clean session 0: never)
    uint32_t connect_expiry = 0;                  // the value CONNECT set (DISCONNECT may not raise 0)
    uint32_t unsent_inflight = 0;                 // in-flight entries with `unsent` set
    uint64_t expires_at_ms = 0;                   // offline with a finite expiry: when it ends
    uint64_t will_due_ms = 0;                     // a delayed will waits for this time [MQTT-3.1.3-9]
    std::unique_ptr<WillMessage> will;            // most clients have none
    Grants grants;  // who the client is (username) and what it may publish and subscribe to
    // For the admin API: the last CONNECT and the end of the last connection.
    uint64_t connected_at_ms = 0;
    uint64_t disconnected_at_ms = 0;

    std::unordered_map<std::string, SubscriptionEntry> subscriptions;

    RingQueue<OutgoingInflight> inflight;  // in the order sent [MQTT-4.6.0-1]
    RingQueue<QueuedDelivery> queue;
    uint64_t queued_bytes = 0;
    // Offline: bytes of the messages of stored queued deliveries still in memory, counted in the worker's
    // share of persistence_queue_memory (0 while online).
    uint64_t resident_offline_bytes = 0;
    std::unordered_set<uint16_t> incoming_qos2;  // PUBREC sent, waiting for PUBREL [MQTT-4.3.3-9]

    // Next free outgoing packet identifier, skipping ones in flight [MQTT-2.2.1-3].
    uint16_t nextPacketId();
    // Recovery: continue after the last id in flight.
    void setLastPacketId(uint16_t id) { next_packet_id_ = id; }
    uint64_t next_seq = 1;  // store records of queued and in-flight deliveries, in order

    // Scratch for de-duplicating overlapping matches of one publish [MQTT-3.3.5-1].
    uint64_t match_generation = 0;
    protocol::QoS match_qos = protocol::QoS::kAtMostOnce;
    bool match_retain_as_published = false;
    std::vector<uint32_t> match_ids;

  private:
    std::string client_id_;
    uint16_t next_packet_id_ = 0;
};

}  // namespace starling::broker
