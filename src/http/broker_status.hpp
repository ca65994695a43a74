#pragma once
// One reading of the broker's numbers for /metrics and /api/v1/stats, taken through the broker's
// thread-safe accessors (per-worker atomic counters, the retained store's lock, atomics). Any thread.
#include <cstdint>
#include <vector>

#include "broker/stats.hpp"

namespace starling::broker {
class Broker;
}  // namespace starling::broker

namespace starling::http {

struct BrokerStatus {
    broker::StatsSnapshot stats;  // the workers' counters, summed
    int64_t connections_open = 0;
    uint64_t retained_messages = 0;
    uint64_t retained_bytes = 0;
    uint64_t retained_on_disk = 0;  // of retained_messages, held on disk only (persistence_retained_memory)
    int64_t output_queued_bytes = 0;
    bool persistence = false;
    uint64_t store_bytes = 0;        // persistence only
    bool store_repaired = false;     // the store was damaged at start-up and repaired
    bool store_moved_aside = false;  // ... or could not be, was moved aside and an empty one started
    uint64_t store_unreadable_records = 0;
    unsigned workers = 0;
    uint64_t now_ms = 0;  // wall clock, Unix milliseconds
    uint64_t uptime_ms = 0;
    std::vector<uint64_t> loop_lag_us;  // per worker
};

BrokerStatus gatherStatus(broker::Broker& broker);

}  // namespace starling::http
