#pragma once
// What the admin API asks a worker about its sessions, and the answers: plain copies, so they can leave the
// worker's thread. A worker answers with at most `limit` items in the query's order plus how many matched in
// all; the caller merges the workers' answers (each is sorted, so merging keeps the order and the first
// `limit` of the merge are the first of all). Queries run on the worker that owns the sessions (Shard::list*).
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace starling::broker {

struct ClientInfo {
    std::string client_id;
    std::string username;
    std::string address;  // of the connection; the last one while offline
    unsigned worker = 0;
    bool connected = false;
    bool persistent = false;
    unsigned protocol = 4;  // 3 (3.1), 4 (3.1.1) or 5
    uint16_t listener_port = 0;
    bool tls = false;
    uint16_t keep_alive = 0;
    uint64_t connected_at_ms = 0;     // this connection's (or the last one's) CONNECT, Unix ms
    uint64_t disconnected_at_ms = 0;  // offline: when the last connection ended
    std::string last_disconnect;      // why the last connection ended ("" while it never did)
    uint64_t expires_at_ms = 0;       // offline with a finite expiry: when the session ends
    size_t subscriptions = 0;
    size_t queued = 0;
    size_t inflight = 0;
    uint64_t queued_bytes = 0;
    uint64_t output_bytes = 0;  // written to the connection and not yet taken by the kernel
};

struct ClientQuery {
    enum class Order { kClientId, kQueueDepth };  // ascending id / descending queued + in flight
    enum class State { kAny, kConnected, kOffline };
    static constexpr size_t kDefaultLimit = 100;
    static constexpr size_t kMaxLimit = 1000;

    Order order = Order::kClientId;
    State state = State::kAny;
    std::string prefix;  // client ids starting with it
    std::string after;   // kClientId: ids after this one (the previous page's last)
    size_t limit = kDefaultLimit;
};

// The order of a client page: ascending id, or deepest queue (queued + in flight) first and then by id. The
// workers and the merge of their pages sort with it.
inline bool comesBefore(ClientQuery::Order order, const ClientInfo& a, const ClientInfo& b) {
    if (order == ClientQuery::Order::kQueueDepth) {
        size_t da = a.queued + a.inflight, db = b.queued + b.inflight;
        if (da != db) return da > db;
    }
    return a.client_id < b.client_id;
}

struct SubscriptionInfo {
    std::string client_id;
    std::string filter;  // as subscribed, "$share/GROUP/FILTER" included
    unsigned qos = 0;
    bool no_local = false;
    bool retain_as_published = false;
    unsigned retain_handling = 0;
    uint32_t identifier = 0;
    bool connected = false;
};

struct SubscriptionQuery {
    static constexpr size_t kDefaultLimit = 100;
    static constexpr size_t kMaxLimit = 1000;

    std::string client_id;      // only this client's ("" any)
    std::string filter_prefix;  // only filters starting with it
    // Order is (client id, filter); the previous page's last pair, both empty for the first page.
    std::string after_client;
    std::string after_filter;
    size_t limit = kDefaultLimit;
};

// The order of a subscription page: (client id, filter).
inline bool comesBefore(const SubscriptionInfo& a, const SubscriptionInfo& b) {
    return std::tie(a.client_id, a.filter) < std::tie(b.client_id, b.filter);
}

template <typename T>
struct Page {
    std::vector<T> items;
    size_t total = 0;  // every match, not only those returned
};

// A connection of a client that ended, for the dashboard's "last disconnects".
struct DisconnectRecord {
    uint64_t at_ms = 0;
    std::string client_id;
    std::string username;
    std::string address;
    std::string reason;  // closeReasonText, with the detail after ": " when there is one
};

}  // namespace starling::broker
