#pragma once
// Counters kept by each worker (written by that worker only, read by any) and their sum.
#include <algorithm>
#include <cstdint>

#include "util/counter.hpp"

namespace starling::broker {

struct ShardStats {
    Counter clients_connected;  // gauge
    Counter clients_total;      // sessions, online and offline (gauge)
    Counter connections_total;  // accepted CONNECTs since start
    Counter messages_received;
    Counter messages_sent;
    Counter bytes_received;
    Counter bytes_sent;
    Counter dropped_queue_full;
    Counter dropped_output_limit;
    Counter dropped_expired;
    Counter dropped_too_large;  // above a v5 client's Maximum Packet Size
    Counter dropped_acl;        // publishes refused and deliveries withheld by the ACL
    Counter auth_failures;      // refused logins
    Counter refused_busy;       // connections refused by max_connections (global, or a listener's at accept)
    Counter refused_invalid;    // CONNECTs refused for what they ask (protocol, client id, keep-alive, ...)
    Counter store_errors;       // failed store writes
    Counter subscriptions;      // gauge
    Counter queued_messages;    // gauge, offline + window-full queues
    Counter inflight_messages;  // gauge
    Counter queued_evicted;     // gauge: queued deliveries whose message is on disk only (persistence_queue_memory)
    Counter queued_lost;        // evicted deliveries skipped because their stored message could not be read back
    // PUBLISH packets and their payload bytes by QoS (in: from clients; out: to subscribers). The snapshot's
    // publish_received and publish_sent are their sums.
    Counter publish_in_by_qos[3];
    Counter publish_out_by_qos[3];
    Counter payload_in_by_qos[3];
    Counter payload_out_by_qos[3];
    Counter tls_failures;     // handshakes and records that failed (logged with OpenSSL's reason)
    Counter store_commits;    // write batches committed
    Counter store_commit_us;  // time spent committing them, microseconds
    Counter loop_lag_us;      // gauge: how late this worker's latest timer ran (a busy loop answers late)
};

struct StatsSnapshot {
    uint64_t clients_connected = 0, clients_total = 0, connections_total = 0;
    uint64_t messages_received = 0, messages_sent = 0, publish_received = 0, publish_sent = 0;
    uint64_t bytes_received = 0, bytes_sent = 0;
    uint64_t dropped_queue_full = 0, dropped_output_limit = 0, dropped_expired = 0, dropped_too_large = 0,
             dropped_acl = 0, auth_failures = 0;
    uint64_t refused_busy = 0, refused_invalid = 0, store_errors = 0;
    uint64_t subscriptions = 0, queued_messages = 0, inflight_messages = 0, queued_evicted = 0, queued_lost = 0;
    uint64_t publish_in_by_qos[3] = {}, publish_out_by_qos[3] = {}, payload_in_by_qos[3] = {},
             payload_out_by_qos[3] = {};
    uint64_t tls_failures = 0, store_commits = 0, store_commit_us = 0;
    uint64_t loop_lag_max_us = 0;  // the worst worker's

    void add(const ShardStats& s) {
        clients_connected += s.clients_connected.get();
        clients_total += s.clients_total.get();
        connections_total += s.connections_total.get();
        messages_received += s.messages_received.get();
        messages_sent += s.messages_sent.get();
        bytes_received += s.bytes_received.get();
        bytes_sent += s.bytes_sent.get();
        dropped_queue_full += s.dropped_queue_full.get();
        dropped_output_limit += s.dropped_output_limit.get();
        dropped_expired += s.dropped_expired.get();
        dropped_too_large += s.dropped_too_large.get();
        dropped_acl += s.dropped_acl.get();
        auth_failures += s.auth_failures.get();
        refused_busy += s.refused_busy.get();
        refused_invalid += s.refused_invalid.get();
        store_errors += s.store_errors.get();
        subscriptions += s.subscriptions.get();
        queued_messages += s.queued_messages.get();
        inflight_messages += s.inflight_messages.get();
        queued_evicted += s.queued_evicted.get();
        queued_lost += s.queued_lost.get();
        for (int q = 0; q < 3; ++q) {
            uint64_t in = s.publish_in_by_qos[q].get(), out = s.publish_out_by_qos[q].get();
            publish_in_by_qos[q] += in;
            publish_out_by_qos[q] += out;
            publish_received += in;
            publish_sent += out;
            payload_in_by_qos[q] += s.payload_in_by_qos[q].get();
            payload_out_by_qos[q] += s.payload_out_by_qos[q].get();
        }
        tls_failures += s.tls_failures.get();
        store_commits += s.store_commits.get();
        store_commit_us += s.store_commit_us.get();
        loop_lag_max_us = std::max(loop_lag_max_us, s.loop_lag_us.get());
    }
};

}  // namespace starling::broker
