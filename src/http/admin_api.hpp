#pragma once
// The JSON bodies of /api/v1: broker statistics (the numbers of /metrics), pages of retained messages,
// clients, sessions and subscriptions (merged from the workers' answers), the latest disconnects, the
// listeners and the running configuration. Pure apart from reading the broker through its thread-safe
// accessors; any thread.
#include <cstddef>
#include <string>

#include "broker/inspect.hpp"
#include "config/config.hpp"
#include "http/broker_status.hpp"

namespace starling::broker {
class RetainedStore;
}  // namespace starling::broker

namespace starling::http {

std::string statsJson(const BrokerStatus& status);

struct RetainedQuery {
    static constexpr size_t kDefaultLimit = 100;
    static constexpr size_t kMaxLimit = 1000;
    // A payload is shown up to this many bytes (the page of a dashboard, not a download); `truncated` says so.
    static constexpr size_t kPayloadShown = 64 * 1024;

    std::string prefix;  // plain text: topics starting with it
    std::string after;   // the `next` of the previous page; "" for the first
    size_t limit = kDefaultLimit;
};

// {"prefix", "total", "messages": [{"topic", "qos", "size", "encoding": "utf8"|"base64", "payload",
// "truncated"}], "next": topic or null}. Payloads that are valid UTF-8 are shown as text, others in base64.
std::string retainedJson(const broker::RetainedStore& store, const RetainedQuery& query);

// Merges the workers' pages (each sorted in the query's order) into one: {"total", "clients": [...], "next":
// the last client id when more follow in id order, else null}.
std::string clientsJson(std::vector<broker::Page<broker::ClientInfo>> pages, const broker::ClientQuery& query);
// {"total", "subscriptions": [...], "next": {"client_id", "filter"} or null}.
std::string subscriptionsJson(std::vector<broker::Page<broker::SubscriptionInfo>> pages,
                              const broker::SubscriptionQuery& query);
// {"disconnects": [...]}: the newest `limit` over all workers, newest first.
std::string disconnectsJson(std::vector<std::vector<broker::DisconnectRecord>> lists, size_t limit);
// {"listeners": [...], "http": {...}}: what the broker listens on and how.
std::string listenersJson(const config::Config& cfg);
// The configuration in effect (after defaults), as JSON. Secrets never appear: the configuration names the
// files that hold passwords, keys and tokens, and only their paths are shown.
std::string configJson(const config::Config& cfg);
// {"client_id", "result"}: what an admin action did to a client.
std::string actionJson(std::string_view client_id, std::string_view result);

}  // namespace starling::http
