#pragma once
// One worker's share of the broker: the sessions it owns, its local subscription trie, its replica of the
// route index, and the handling of every packet its connections receive (one file per packet kind:
// handle_connect.cpp, handle_publish.cpp, ...). Owned by one worker thread; other workers reach it only
// through Broker::post. Knows no sockets: input is frames, output goes to ClientLink.
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "broker/broker.hpp"
#include "broker/client_link.hpp"
#include "broker/filter_trie.hpp"
#include "broker/inspect.hpp"
#include "broker/message.hpp"
#include "broker/security.hpp"
#include "broker/session.hpp"
#include "broker/stats.hpp"
#include "broker/topic_path.hpp"
#include "protocol/frame.hpp"
#include "protocol/packet.hpp"
#include "store/store.hpp"

namespace starling::broker {

struct Subscriber {
    Session* session;
    SubscriptionEntry entry;
};

// The members of one shared subscription group on this worker [MQTT 5.0 section 4.8.2].
struct SharedGroup {
    std::string name;
    std::vector<Subscriber> members;
    size_t next = 0;            // round robin
    Session* sticky = nullptr;  // sticky strategy: the member chosen until it leaves
};

// A shared subscription group as every worker sees it: how many members each worker has, so that the
// choice of a worker weighs its members and every member gets its share.
struct SharedRoute {
    std::string key;  // "$share/GROUP/FILTER"
    uint64_t workers = 0;
    uint32_t members[64] = {};
    uint32_t total = 0;
    size_t next = 0;       // round robin over all members
    unsigned sticky = 64;  // sticky strategy: the worker chosen until it has no members
};

// "$share/GROUP/FILTER" -> {GROUP, FILTER}; empty views for a non-shared filter.
std::pair<std::string_view, std::string_view> splitShared(std::string_view filter);

class Shard {
  public:
    Shard(Broker& broker, unsigned index);
    ~Shard();

    unsigned index() const { return index_; }
    ShardStats& stats() { return stats_; }

    struct FrameOutcome {
        enum Kind { kContinue, kMigrate } kind = kContinue;
        unsigned target = 0;  // kMigrate: the worker that owns this client's session
    };
    // A complete frame from `link`. kMigrate (only for a first CONNECT): hand the connection, with this
    // frame unconsumed, to worker `target`; nothing was changed here. A link closed by this call gets
    // onClosed later from the transport.
    FrameOutcome onFrame(ClientLink& link, const protocol::Frame& frame);
    // A link accepted by (or migrated to) this worker.
    void onOpened(ClientLink& link);
    // The link's socket is gone; `link` dies after this returns.
    void onClosed(ClientLink& link);
    // The link moved to another worker before CONNECT was accepted: drop it without a trace.
    void forget(ClientLink& link) { links_.erase(&link); }
    // Once per second or so: keep-alive, output limits, $SYS.
    void tick(uint64_t now_ms);
    // End of a loop turn in which frames were handled: hand batched messages to other workers.
    void flush();
    // Server shutdown: close every link (wills are not published, as Mosquitto does on a clean stop).
    void shutdown();

    // Messages handed to this worker by others and not yet delivered: read by publishers' workers to slow
    // down reading when this one falls behind.
    int64_t backlog() const { return backlog_.load(std::memory_order_relaxed); }
    static constexpr int64_t kBacklogHigh = 100'000;

    // Persistence (persistence.cpp): the store this worker writes to; null when persistence is off.
    void attachStore(store::Store* s) { store_ = s; }
    // Recovery, before the workers start.
    void restoreSession(std::unique_ptr<Session> s, std::vector<std::pair<std::string, SubscriptionEntry>> subs);
    // `marker` is the value of its pending-route record: empty for this worker's subscribers only, else which
    // shared groups of this worker were chosen for it too (see storePublish).
    void restoreRoute(const MessagePtr& m, std::string_view marker);
    // Commits this turn's store batch (the acknowledgements written after it rely on it).
    void commitStore(uint64_t now_ms);
    // The kill-before-handoff failpoint (Broker) fired in this turn: die once the acknowledgements are out.
    bool killDue() const { return kill_due_; }

    // This worker's view of the broker's authentication and ACLs (refreshed when a reload swapped them).
    const Security& security();

    // Publishes a message as if a client had (wills, $SYS): retained store, routing, delivery. False
    // when no subscription anywhere matched its topic (v5 reason 0x10).
    bool publish(const MessagePtr& m);

    // Ends a connection: a v5 client first gets a DISCONNECT with `rc` [MQTT-4.13.1-1]; the log says `why`.
    void disconnect(ClientLink& link, protocol::ReasonCode rc, CloseReason why, std::string detail = {});

    // Admin API (inspect.cpp), on this worker's thread: pages of its sessions and subscriptions, its latest
    // disconnects (newest first), and the actions.
    Page<ClientInfo> listClients(const ClientQuery& q) const;
    Page<SubscriptionInfo> listSubscriptions(const SubscriptionQuery& q) const;
    std::vector<DisconnectRecord> recentDisconnects() const;
    // Disconnects the client (v5: DISCONNECT 0x98, Administrative action); its will is published and a
    // persistent session stays. `end_session` also ends the session, online or not. False: no such session.
    bool kick(std::string_view client_id, bool end_session);
    // Deletes the retained message of `topic` (and its store record) without publishing anything.
    // False when there was none.
    bool clearRetained(std::string_view topic);
    static constexpr size_t kRecentDisconnects = 100;

  private:
    // Packet handlers.
    // `frame` is the CONNECT's, kept when enhanced authentication makes it wait; null when it resumes.
    void handleConnect(ClientLink& link, protocol::Connect& c, const std::string& assigned_id,
                       const protocol::Frame* frame);
    void handleAuth(ClientLink& link, const protocol::Auth& a);
    void continueAuth(ClientLink& link, std::string_view data);
    // A failed login: logged, counted, and answered (later, for an address that keeps failing).
    void refuseLogin(ClientLink& link, protocol::ProtocolVersion v, uint8_t code, std::string_view client_id,
                     std::string_view username, const std::string& why);
    void handlePublish(ClientLink& link, protocol::Publish& p);
    void handlePubAck(ClientLink& link, const protocol::PubAck& a);
    void handleSubscribe(ClientLink& link, const protocol::Subscribe& s);
    void handleUnsubscribe(ClientLink& link, const protocol::Unsubscribe& u);
    void handleDisconnect(ClientLink& link, const protocol::Disconnect& d);

    void refuseConnect(ClientLink& link, protocol::ProtocolVersion v, uint8_t code, const char* why);
    void protocolViolation(ClientLink& link, const char* rule,
                           protocol::ReasonCode rc = protocol::ReasonCode::kProtocolError);

    // Delivery.
    void deliverLocal(const MessagePtr& m);
    // Local delivery in two steps: the sessions of this worker whose subscriptions match `topic` (into
    // matched_; true when some filter matched, even if No Local left nobody), then the delivery to them.
    bool collectLocal(const Message& m, const TopicPath& topic);
    void deliverCollected(const MessagePtr& m);
    void deliverBatch(std::vector<MessagePtr>& batch);
    // Shared subscriptions: pick a worker with members of the group (publish side), then a member.
    // The worker whose member of group `r` gets `m`; kNoWorker when the group has no member.
    unsigned chooseSharedWorker(const Message& m, SharedRoute& r);
    static constexpr unsigned kNoWorker = ~0u;
    // Hands `m` to group `key` on worker `w`: at once on this worker, else with the turn's outbox.
    void dispatchShared(const MessagePtr& m, unsigned w, const std::string& key);
    // On the chosen worker: one member of the group gets it; the pending-route marker goes with its records.
    void deliverShared(const MessagePtr& m, const std::string& key);
    void deliverToGroup(const MessagePtr& m, const std::string& key);
    // Unacknowledged messages of a shared subscription whose member's session ended go to another member.
    void redistributeShared(Session& s);
    void deliver(Session& s, const MessagePtr& m, protocol::QoS qos, bool retain, const std::vector<uint32_t>& ids);
    void sendPublish(Session& s, const MessagePtr& m, protocol::QoS qos, bool retain, uint16_t packet_id, bool dup,
                     const std::vector<uint32_t>& ids);
    // False when the PUBLISH would exceed the client's v5 Maximum Packet Size [MQTT-3.1.2-24].
    bool fitsClient(const ClientLink& link, const Message& m, protocol::QoS qos,
                    const std::vector<uint32_t>& ids) const;
    void enqueue(Session& s, const MessagePtr& m, protocol::QoS qos, bool retain, const std::vector<uint32_t>& ids);
    void drainQueue(Session& s);
    void resendInflight(Session& s);
    size_t inflightWindow(const Session& s) const;

    // Subscriptions and routes.
    // True when the session had no subscription to `filter` before.
    bool addSubscription(Session& s, std::string_view filter, const SubscriptionEntry& e);
    void removeSubscription(Session& s, std::string_view filter);
    void removeAllSubscriptions(Session& s);
    void routeChanged(std::string_view filter, bool add);
    void applyRoute(const std::string& filter, unsigned worker, bool add);

    // Store records (no-ops without a store or for sessions that are not persistent).
    uint64_t retainDurable(const Message& m);
    void releaseDurable(const Message& m);
    void storeSession(const Session& s);
    void storeSubscription(const Session& s, std::string_view filter, const SubscriptionEntry* e);
    void storeQueued(Session& s, QueuedDelivery& d);
    void unstoreQueued(Session& s, const QueuedDelivery& d, bool release);
    void storeInflight(Session& s, OutgoingInflight& e, bool new_ref);
    void unstoreInflight(Session& s, const OutgoingInflight& e);
    void storeIncoming(const Session& s, uint16_t packet_id, bool add);
    void storeEndSession(Session& s);
    void storeRetained(const MessagePtr& m);
    bool commitBatch(std::string& error);  // store_->commit, or the fail-commits-while failpoint
    void commitOrStop();                   // commits batch_, retrying; stops the process if the store refuses
    static constexpr int kCommitAttempts = 6;
    // Pending-route markers for the workers of `workers` (their own subscribers) and of `shared` (groups
    // chosen there), before anything is handed on.
    void storePublish(const Message& m, uint64_t workers,
                      const std::vector<std::pair<unsigned, const std::string*>>& shared);
    void storeRouted(const Message& m);

    // Offline queues and the worker's share of persistence_queue_memory (persistence.cpp).
    void releaseParked(uint64_t message_id);
    uint64_t queueMemoryShare() const;
    // The session went offline (or was restored): its queue's resident messages count against the share;
    // with `evict`, the newest are evicted while the share is exceeded.
    void chargeOfflineQueue(Session& s, bool evict);
    // Back online, or ending: its queue no longer counts.
    void dischargeOfflineQueue(Session& s);
    // `d` was just queued for the offline session `s`.
    void chargeQueued(Session& s, QueuedDelivery& d);
    void evictQueued(Session& s, QueuedDelivery& d);
    // Reads an evicted delivery's message back from the store. False when it cannot be read: the delivery is
    // then unstored, logged and counted (queued_lost), and the caller drops it.
    bool reloadQueued(Session& s, QueuedDelivery& d);

    void publishWill(Session& s);
    void endSession(Session& s);
    void noteDisconnect(const Session& s, const ClientLink& link, CloseReason reason, uint64_t now_ms);
    // Offline sessions with a finite expiry or a delayed will: wills due and sessions expired.
    void expireSessions(uint64_t now_ms);
    void sendRetained(Session& s, std::string_view filter, protocol::QoS granted, uint32_t identifier);
    void publishSys(uint64_t now_ms);

    Broker& broker_;
    unsigned index_;
    ShardStats stats_;

    // Keyed by a view of the session's own client id: the id is stored once.
    std::unordered_map<std::string_view, std::unique_ptr<Session>, StringHash, std::equal_to<>> sessions_;
    std::unordered_set<ClientLink*> links_;
    std::unordered_set<Session*> offline_timed_;  // offline, with expires_at_ms or will_due_ms set
    FilterTrie<std::vector<Subscriber>> subscriptions_;
    FilterTrie<uint64_t> routes_;  // filter -> bit set of workers with a subscriber (replica)

    std::atomic<int64_t> backlog_{0};
    std::vector<std::vector<MessagePtr>> outbox_;                                 // per worker, flushed at end of turn
    std::vector<std::vector<std::pair<MessagePtr, std::string>>> shared_outbox_;  // per worker: message, group key
    FilterTrie<std::vector<SharedGroup>> shared_;         // local members of shared groups, by filter
    FilterTrie<std::vector<SharedRoute>> shared_routes_;  // replica: groups by filter, workers with members
    const std::string* delivering_shared_ = nullptr;
    store::Store* store_ = nullptr;
    store::Batch batch_;
    std::vector<MessagePtr> retained_written_;  // retained records in batch_, reported once it is committed
    uint64_t offline_queue_bytes_ = 0;          // resident messages of offline sessions' stored queues
    uint64_t last_sync_ms_ = 0;
    std::shared_ptr<const Security> security_;
    uint64_t security_generation_ = ~0ull;
    // Failed logins per client address (without port), for slowing down password guessing.
    struct FailedLogins {
        unsigned count = 0;
        uint64_t first_ms = 0;
    };
    std::unordered_map<std::string, FailedLogins> failed_logins_;
    struct DelayedRefusal {
        ClientLink* link;
        uint64_t due_ms;
        protocol::ProtocolVersion version;
        uint8_t code;
    };
    std::vector<DelayedRefusal> delayed_refusals_;  // set while deliverShared calls deliver()
    uint64_t random_state_ = 0x9E3779B97F4A7C15ull;
    uint64_t outbox_mask_ = 0;       // workers whose outbox is not empty
    bool marked_elsewhere_ = false;  // this turn's batch has a pending-route marker for another worker
    bool kill_due_ = false;
    uint64_t match_generation_ = 0;
    std::vector<Session*> matched_;
    std::vector<std::pair<unsigned, const std::string*>> shared_choices_;  // publish(): worker, group key
    protocol::Bytes scratch_;
    std::deque<DisconnectRecord> recent_disconnects_;  // newest last, at most kRecentDisconnects

    uint64_t next_sys_ms_ = 0;
    uint64_t last_sys_ms_ = 0;
    StatsSnapshot last_sys_stats_;
    double load_[3][4] = {};  // msgs recv, msgs sent, bytes recv, bytes sent x 1/5/15 min
};

// Loads what the store holds into the shards (before the workers start).
void recoverFromStore(Broker& broker);

}  // namespace starling::broker
