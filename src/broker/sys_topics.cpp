// $SYS/broker/... statistics, published retained every sys_interval seconds by worker 0, with
// Mosquitto's topic names so existing dashboards keep working.
#include <cmath>
#include <string>

#include "broker/shard.hpp"
#include "util/version.hpp"

namespace starling::broker {

void Shard::publishSys(uint64_t now_ms) {
    const auto& cfg = broker_.config();
    if (cfg.sys_interval == 0) return;
    if (now_ms < next_sys_ms_) return;
    next_sys_ms_ = now_ms + uint64_t(cfg.sys_interval) * 1000;

    StatsSnapshot st = broker_.stats();
    auto put = [&](const std::string& topic, const std::string& value) {
        Message::Init init;
        init.topic = topic;
        init.payload = value;
        init.retain = true;
        publish(Message::create(init));
    };
    auto num = [](double v) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.2f", v);
        return std::string(buf);
    };

    // Load averages as Mosquitto computes them: per-minute rates smoothed over 1, 5 and 15 minutes.
    if (last_sys_ms_) {
        double interval = double(now_ms - last_sys_ms_) / 1000.0;
        if (interval > 0) {
            const double rates[4] = {
                double(st.messages_received - last_sys_stats_.messages_received) * 60.0 / interval,
                double(st.messages_sent - last_sys_stats_.messages_sent) * 60.0 / interval,
                double(st.bytes_received - last_sys_stats_.bytes_received) * 60.0 / interval,
                double(st.bytes_sent - last_sys_stats_.bytes_sent) * 60.0 / interval,
            };
            const double periods[3] = {60.0, 300.0, 900.0};
            for (int p = 0; p < 3; ++p) {
                double e = std::exp(-interval / periods[p]);
                for (int k = 0; k < 4; ++k)
                    load_[p][k] = load_[p][k] * e + rates[k] * (1.0 - e);
            }
        }
    }
    last_sys_ms_ = now_ms;
    last_sys_stats_ = st;

    uint64_t uptime = (now_ms - broker_.start_time_ms()) / 1000;
    static uint64_t max_connected = 0;  // touched by worker 0 only
    if (st.clients_connected > max_connected) max_connected = st.clients_connected;

    put("$SYS/broker/version", std::string("starling version ") + kVersion);
    put("$SYS/broker/uptime", std::to_string(uptime) + " seconds");
    put("$SYS/broker/clients/connected", std::to_string(st.clients_connected));
    put("$SYS/broker/clients/active", std::to_string(st.clients_connected));
    put("$SYS/broker/clients/disconnected", std::to_string(st.clients_total - st.clients_connected));
    put("$SYS/broker/clients/inactive", std::to_string(st.clients_total - st.clients_connected));
    put("$SYS/broker/clients/total", std::to_string(st.clients_total));
    put("$SYS/broker/clients/maximum", std::to_string(max_connected));
    put("$SYS/broker/messages/received", std::to_string(st.messages_received));
    put("$SYS/broker/messages/sent", std::to_string(st.messages_sent));
    put("$SYS/broker/messages/stored", std::to_string(broker_.retained().count() + st.queued_messages));
    put("$SYS/broker/publish/messages/received", std::to_string(st.publish_received));
    put("$SYS/broker/publish/messages/sent", std::to_string(st.publish_sent));
    put("$SYS/broker/publish/messages/dropped",
        std::to_string(st.dropped_queue_full + st.dropped_output_limit + st.dropped_expired + st.dropped_too_large));
    put("$SYS/broker/bytes/received", std::to_string(st.bytes_received));
    put("$SYS/broker/bytes/sent", std::to_string(st.bytes_sent));
    put("$SYS/broker/retained messages/count", std::to_string(broker_.retained().count()));
    put("$SYS/broker/subscriptions/count", std::to_string(st.subscriptions));
    put("$SYS/broker/store/messages/count", std::to_string(st.queued_messages));
    const char* names[4] = {"messages/received", "messages/sent", "bytes/received", "bytes/sent"};
    const char* periods[3] = {"1min", "5min", "15min"};
    for (int p = 0; p < 3; ++p) {
        for (int k = 0; k < 4; ++k)
            put(std::string("$SYS/broker/load/") + names[k] + "/" + periods[p], num(load_[p][k]));
    }
}

}  // namespace starling::broker
