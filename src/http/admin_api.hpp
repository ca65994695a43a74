#pragma once
// The JSON bodies of /api/v1: broker statistics (the numbers of /metrics) and pages of retained messages.
// Pure apart from reading the broker through its thread-safe accessors; any thread.
#include <cstddef>
#include <string>

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

}  // namespace starling::http
