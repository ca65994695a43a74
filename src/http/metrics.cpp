#include "http/metrics.hpp"

#include <cinttypes>
#include <cstdio>
#include <initializer_list>
#include <utility>
#include <vector>

#include "util/version.hpp"

namespace starling::http {

namespace {

// Counters end in `_total`; gauges never do, so no gauge shares a family name with a counter's
// (OpenMetrics reads `x_total` as the sample of family `x`).
class Exposition {
  public:
    void counter(const char* name, const char* help, uint64_t value) { family(name, "counter", help, {{"", value}}); }
    void gauge(const char* name, const char* help, double value) {
        header(name, "gauge", help);
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3f", value);
        out_ += name;
        out_ += ' ';
        out_ += buf;
        out_ += '\n';
    }
    void gauge(const char* name, const char* help, uint64_t value) { family(name, "gauge", help, {{"", value}}); }
    // One family with a label; `samples` are (label value, sample value).
    void labelled(const char* name, const char* type, const char* help, const char* label,
                  std::initializer_list<std::pair<const char*, uint64_t>> samples) {
        header(name, type, help);
        for (auto& [label_value, value] : samples)
            sample(name, std::string(label) + "=\"" + label_value + "\"", value);
    }
    // One gauge per worker, label `worker`; `scale` converts the values to the family's unit.
    void perWorker(const char* name, const char* help, const std::vector<uint64_t>& values, double scale) {
        header(name, "gauge", help);
        for (size_t w = 0; w < values.size(); ++w) {
            char buf[96];
            std::snprintf(buf, sizeof buf, "%s{worker=\"%zu\"} %.6f\n", name, w, double(values[w]) * scale);
            out_ += buf;
        }
    }
    void summary(const char* name, const char* help, double sum, uint64_t count) {
        header(name, "summary", help);
        char buf[128];
        std::snprintf(buf, sizeof buf, "%s_sum %.6f\n%s_count %" PRIu64 "\n", name, sum, name, count);
        out_ += buf;
    }
    std::string take() { return std::move(out_); }

  private:
    void family(const char* name, const char* type, const char* help,
                std::initializer_list<std::pair<const char*, uint64_t>> samples) {
        header(name, type, help);
        for (auto& [labels, value] : samples)
            sample(name, labels, value);
    }
    void header(const char* name, const char* type, const char* help) {
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }
    void sample(const char* name, const std::string& labels, uint64_t value) {
        out_ += name;
        if (!labels.empty()) out_ += "{" + labels + "}";
        char buf[32];
        std::snprintf(buf, sizeof buf, " %" PRIu64 "\n", value);
        out_ += buf;
    }

    std::string out_;
};

uint64_t nonNegative(int64_t v) {
    return v > 0 ? static_cast<uint64_t>(v) : 0;
}

}  // namespace

std::string renderMetrics(const BrokerStatus& s) {
    const auto& st = s.stats;
    Exposition e;
    e.labelled("starling_build_info", "gauge", "Starling version (always 1).", "version", {{kVersion, 1}});
    e.gauge("starling_uptime_seconds", "Seconds since the broker started.", double(s.uptime_ms) / 1000.0);
    e.gauge("starling_workers", "Worker threads.", uint64_t(s.workers));

    e.gauge("starling_connections_open", "Open client sockets (MQTT over TCP and TLS).",
            nonNegative(s.connections_open));
    e.counter("starling_connections_accepted_total", "CONNECTs accepted since start.", st.connections_total);
    e.labelled(
        "starling_connections_refused_total", "counter",
        "Connections refused, by reason: server_busy (max_connections), not_authorized (failed login), "
        "invalid (protocol version, client id, keep-alive, retained will or authentication method).",
        "reason",
        {{"server_busy", st.refused_busy}, {"not_authorized", st.auth_failures}, {"invalid", st.refused_invalid}});
    e.gauge("starling_clients_connected", "Clients with a session and a connection.", st.clients_connected);
    e.gauge("starling_sessions", "Sessions, online and offline.", st.clients_total);

    e.counter("starling_messages_received_total", "MQTT packets received.", st.messages_received);
    e.counter("starling_messages_sent_total", "MQTT packets sent.", st.messages_sent);
    e.counter("starling_publish_received_total", "PUBLISH packets received.", st.publish_received);
    e.counter("starling_publish_sent_total", "PUBLISH packets sent.", st.publish_sent);
    e.counter("starling_bytes_received_total", "Bytes received from clients.", st.bytes_received);
    e.counter("starling_bytes_sent_total", "Bytes sent to clients.", st.bytes_sent);
    e.labelled("starling_messages_dropped_total", "counter",
               "Messages dropped, by reason: queue_full (session queue limits), output_limit (slow consumer, QoS "
               "0), expired (Message Expiry Interval), too_large (client's Maximum Packet Size), acl (refused by "
               "the ACL).",
               "reason",
               {{"queue_full", st.dropped_queue_full},
                {"output_limit", st.dropped_output_limit},
                {"expired", st.dropped_expired},
                {"too_large", st.dropped_too_large},
                {"acl", st.dropped_acl}});
    auto byQos = [&](const char* name, const char* help, const uint64_t(&v)[3]) {
        e.labelled(name, "counter", help, "qos", {{"0", v[0]}, {"1", v[1]}, {"2", v[2]}});
    };
    byQos("starling_publish_in_by_qos_total", "PUBLISH packets received from clients, by QoS.", st.publish_in_by_qos);
    byQos("starling_publish_out_by_qos_total", "PUBLISH packets sent to subscribers, by QoS.", st.publish_out_by_qos);
    byQos("starling_payload_bytes_in_by_qos_total", "Payload bytes of PUBLISH packets received, by QoS.",
          st.payload_in_by_qos);
    byQos("starling_payload_bytes_out_by_qos_total", "Payload bytes of PUBLISH packets sent, by QoS.",
          st.payload_out_by_qos);
    e.counter("starling_auth_failures_total", "Refused logins.", st.auth_failures);
    e.counter("starling_tls_failures_total", "TLS handshakes and records that failed.", st.tls_failures);
    e.perWorker("starling_event_loop_lag_seconds",
                "How late each worker's latest timer ran: the time its queue of ready work took to get to it.",
                s.loop_lag_us, 1e-6);

    e.gauge("starling_retained_messages", "Retained messages.", s.retained_messages);
    e.gauge("starling_retained_bytes", "Bytes held in memory by retained messages (topic, properties, payload).",
            s.retained_bytes);
    e.gauge("starling_retained_on_disk",
            "Retained messages held on disk only (beyond persistence_retained_memory), read when a subscription "
            "matches them.",
            s.retained_on_disk);
    e.gauge("starling_subscriptions", "Subscriptions, online and offline sessions.", st.subscriptions);
    e.gauge("starling_queued_messages", "Messages queued for sessions (offline or window full).", st.queued_messages);
    e.gauge("starling_inflight_messages", "Outgoing QoS 1 and 2 messages awaiting acknowledgement.",
            st.inflight_messages);
    e.gauge("starling_queued_messages_evicted",
            "Queued messages of offline sessions held on disk only (beyond persistence_queue_memory), read back "
            "when their session reconnects.",
            st.queued_evicted);
    e.counter("starling_queued_messages_lost_total",
              "Evicted queued messages skipped because the store could not give them back (missing or unreadable).",
              st.queued_lost);
    e.gauge("starling_output_queued_bytes", "Bytes handed to client sockets and not yet written.",
            nonNegative(s.output_queued_bytes));
    if (s.persistence) {
        e.gauge("starling_store_bytes", "Approximate size of the persistent store (SST files and memtables).",
                s.store_bytes);
        e.counter("starling_store_write_errors_total", "Failed writes to the persistent store.", st.store_errors);
        e.labelled("starling_store_damaged", "gauge",
                   "1 when the store was damaged at start-up: repaired, or moved aside and an empty one started "
                   "(see the log).",
                   "action",
                   {{"repaired", s.store_repaired ? 1u : 0u}, {"moved_aside", s.store_moved_aside ? 1u : 0u}});
        e.gauge("starling_store_unreadable_records",
                "Records the last start-up skipped because they could not be decoded.", s.store_unreadable_records);
        e.summary("starling_store_write_seconds", "Time spent committing write batches to the store.",
                  double(st.store_commit_us) / 1e6, st.store_commits);
    }
    return e.take();
}

}  // namespace starling::http
