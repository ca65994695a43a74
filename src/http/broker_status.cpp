#include "http/broker_status.hpp"

#include "broker/broker.hpp"
#include "broker/clock.hpp"
#include "broker/shard.hpp"
#include "store/store.hpp"

namespace starling::http {

BrokerStatus gatherStatus(broker::Broker& broker) {
    BrokerStatus s;
    s.stats = broker.stats();
    s.connections_open = broker.connections.load(std::memory_order_relaxed);
    s.retained_messages = broker.retained().count();
    s.retained_bytes = broker.retained().bytes();
    s.retained_on_disk = broker.retained().diskOnlyCount();
    s.output_queued_bytes = broker.output_queued.load(std::memory_order_relaxed);
    if (const store::Store* st = broker.store()) {
        s.persistence = true;
        s.store_bytes = st->approximateSize();
        s.store_repaired = st->opened() == store::Store::Opened::kRepaired;
        s.store_moved_aside = st->opened() == store::Store::Opened::kMovedAside;
        s.store_unreadable_records = broker.unreadable_records.load(std::memory_order_relaxed);
    }
    s.workers = broker.workerCount();
    for (unsigned w = 0; w < s.workers; ++w)
        s.loop_lag_us.push_back(broker.shard(w).stats().loop_lag_us.get());
    s.now_ms = broker::systemNowMs();
    s.uptime_ms = s.now_ms > broker.start_time_ms() ? s.now_ms - broker.start_time_ms() : 0;
    return s;
}

}  // namespace starling::http
