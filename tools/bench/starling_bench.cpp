// starling_bench: load generator for any MQTT broker. Scenarios conn / fanin / fanout / pairs; measured at the
// subscriber from a header in every payload (stream, sequence, send time): receive rate during the publishing
// window, messages drained afterwards, latency percentiles, lost / duplicate / out-of-order per stream, and for
// QoS 1/2 which lost messages the broker had acknowledged; connect latency and rate. One progress line per second on
// stderr, one JSON summary line on stdout (fields: see usage()); bounded by --duration plus at most 3 s of drain. Each
// thread runs one EventLoop with its share of clients.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client/client.hpp"

using namespace starling;
using Clock = std::chrono::steady_clock;

namespace {

struct Settings {
    std::string scenario;
    std::string host = "127.0.0.1";
    uint16_t port = 1883;
    int qos = 0;
    int size = 64;
    int count = 1;             // P publishers (fanin), S subscribers (fanout), N pairs, C connections (conn)
    double rate = 0;           // total msg/s; 0 = flood
    size_t window = 1 << 20;   // flood: bytes queued per publisher
    uint64_t outstanding = 0;  // flood, closed loop: messages a publisher has sent and not all got back; 0 = open
    double duration = 10, warmup = 1;
    int threads = 2;
    bool persistent = false;  // subscribers keep their session (clean session 0; v5: session expiry)
    protocol::ProtocolVersion version = protocol::ProtocolVersion::kV311;
    // Steady-clock ns, fixed before any client starts: the measured window is [measure_from, stop_at);
    // publishers send nothing at or after stop_at.
    int64_t measure_from = 0, stop_at = 0;
};

constexpr size_t kHeader = 20;         // stream u32, seq u64, send time ns u64
constexpr size_t kMaxInflight = 1000;  // per publisher, QoS 1/2
constexpr auto kDrain = std::chrono::seconds(3);
constexpr uint32_t kSessionExpiry = 3600;  // --persistent with -V mqttv5, seconds

int64_t nowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}
Clock::time_point timePoint(int64_t ns) {
    return Clock::time_point(std::chrono::nanoseconds(ns));
}

std::atomic<uint64_t> g_received{0};
std::atomic<uint64_t> g_sent{0};
std::atomic<uint64_t> g_acked{0};  // QoS 1/2 acknowledgements (PUBACK / PUBCOMP, refusals included)
std::atomic<int> g_connected{0};
std::atomic<int64_t> g_first_publish{INT64_MAX};
// Deliveries per stream (closed loop): a publisher sends while seq - stream_rx / receivers < --outstanding.
std::unique_ptr<std::atomic<uint64_t>[]> g_stream_rx;
size_t g_streams = 0;
uint64_t g_receivers_per_stream = 1;

struct Stream {
    std::vector<bool> seen;
    uint64_t max_seen = 0;
    bool any = false;
};

// Receiving side; owned by its loop thread until the threads are joined.
struct Receiver {
    std::vector<Stream> streams;
    std::vector<uint32_t> latency_us;
    uint64_t received = 0, duplicates = 0, out_of_order = 0;
    uint64_t in_window = 0, drained = 0;  // received in [measure_from, stop_at), received at or after stop_at
    int only_stream = -1;                 // pairs: the one stream this subscriber gets
    const Settings* s = nullptr;

    void onMessage(std::string_view payload) {
        if (payload.size() < kHeader) return;
        uint32_t stream;
        uint64_t seq;
        int64_t sent;
        std::memcpy(&stream, payload.data(), 4);
        std::memcpy(&seq, payload.data() + 4, 8);
        std::memcpy(&sent, payload.data() + 12, 8);
        if (stream >= streams.size()) streams.resize(stream + 1);
        Stream& st = streams[stream];
        if (seq >= st.seen.size()) st.seen.resize(std::max<size_t>(seq + 1, st.seen.size() * 2));
        if (st.seen[seq]) {
            ++duplicates;
            return;
        }
        st.seen[seq] = true;
        if (st.any && seq < st.max_seen) ++out_of_order;
        st.max_seen = std::max(st.max_seen, seq);
        st.any = true;
        ++received;
        g_received.fetch_add(1, std::memory_order_relaxed);
        if (stream < g_streams) g_stream_rx[stream].fetch_add(1, std::memory_order_relaxed);
        int64_t now = nowNs();
        if (now >= s->stop_at)
            ++drained;
        else if (now >= s->measure_from)
            ++in_window;
        if (sent >= s->measure_from)
            latency_us.push_back(static_cast<uint32_t>(std::max<int64_t>(0, now - sent) / 1000));
    }
};

struct Publisher {
    std::unique_ptr<client::Client> mqtt;
    std::unique_ptr<client::Timer> timer;
    uint32_t stream = 0;
    uint64_t seq = 0;  // messages handed to the client library
    std::string topic;
    std::string payload;
    double interval_ns = 0;
    int64_t next_due = 0;
    bool stopped = false;
    bool waiting = false;  // closed loop: a timer will pump again
    // QoS 1/2: packet id -> seq while in flight; which seqs the broker acknowledged (PUBACK / PUBCOMP).
    std::vector<uint64_t> id_seq;
    std::vector<bool> acked;
    uint64_t acked_count = 0, rejected = 0, no_packet_id = 0;

    void sendOne(int64_t stamp, int qos) {
        std::memcpy(payload.data(), &stream, 4);
        std::memcpy(payload.data() + 4, &seq, 8);
        std::memcpy(payload.data() + 12, &stamp, 8);
        uint16_t mid = mqtt->publish(topic, payload, static_cast<protocol::QoS>(qos), false);
        if (qos > 0) {
            if (mid == 0) {  // no free packet id (65535 unacknowledged): not published
                ++no_packet_id;
                return;
            }
            id_seq[mid] = seq;
        }
        if (seq == 0) {
            int64_t first = g_first_publish.load(std::memory_order_relaxed);
            while (stamp < first && !g_first_publish.compare_exchange_weak(first, stamp)) {
            }
        }
        ++seq;
        g_sent.fetch_add(1, std::memory_order_relaxed);
    }

    void onAck(uint16_t mid, uint8_t reason) {
        uint64_t q = id_seq[mid];
        g_acked.fetch_add(1, std::memory_order_relaxed);
        if (reason >= 0x80) {  // v5: the broker refused the message
            ++rejected;
            return;
        }
        if (q >= acked.size()) acked.resize(std::max<size_t>(q + 1, acked.size() * 2));
        if (!acked[q]) {
            acked[q] = true;
            ++acked_count;
        }
    }
};

struct Worker {
    client::EventLoop loop;
    std::vector<std::unique_ptr<client::Client>> subscribers;
    std::vector<std::unique_ptr<Publisher>> publishers;
    std::vector<std::unique_ptr<Receiver>> receivers;
    std::vector<uint32_t> connect_us;  // CONNECT -> CONNACK per connection
    int64_t last_connack = 0;
    std::thread thread;

    void connected(const client::ConnackInfo& ci) {
        auto now = Clock::now();
        connect_us.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now - ci.connect_sent).count()));
        last_connack = std::max<int64_t>(
            last_connack, std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
        g_connected.fetch_add(1);
    }
};

void usage(FILE* f) {
    std::fprintf(
        f,
        "Usage: starling_bench conn|fanin|fanout|pairs [-h host] [-p port] [-q qos] [-s payload_bytes]\n"
        "                      [-n count] [--rate msgs_per_sec | --window bytes] [--duration secs]\n"
        "                      [--warmup secs] [--threads n] [-V mqttv311|mqttv5] [--persistent]\n"
        "                      [--outstanding n]\n"
        "\n"
        "--outstanding n: closed loop. A flooding publisher keeps at most n messages sent and not yet received (by\n"
        "every subscriber, fanout), so the broker's queues stay bounded and the rate is what it sustains.\n"
        "\n"
        "--persistent: subscribers connect with clean session 0 (v5: clean start 0, session expiry 3600 s) under\n"
        "fixed client ids bench-sub-0, bench-sub-1, ..., so the broker keeps (and, with persistence, stores) their\n"
        "sessions and queues; publishers keep clean sessions. A session left by an earlier run with the same ids\n"
        "is resumed and its old messages count as duplicates: use a fresh broker and store per run.\n"
        "\n"
        "Publishers send for exactly --duration seconds (fractions allowed), then the bench waits up to 3 s for\n"
        "the rest to arrive. The measured window runs from --warmup (or the first publish, if later) to the end\n"
        "of publishing. One progress line per second on stderr; one JSON line on stdout:\n"
        "  window_secs     length of the measured window (steady clock)\n"
        "  rate            messages received during the window / window_secs (fanout: every delivery)\n"
        "  window_received messages received during the window\n"
        "  drained         messages received after publishing stopped (the drain)\n"
        "  sent, received  totals; lost = sent and never received (loss and backlog alike)\n"
        "  lost_acked      QoS 1/2: acknowledged by the broker (PUBACK/PUBCOMP) but not received by the end of\n"
        "                  the drain: dropped by the broker, or still queued in it\n"
        "  unacked         QoS 1/2: sent but not acknowledged when the run ended (null for QoS 0, as is\n"
        "                  lost_acked); rejected = v5 acknowledgement with a failure reason\n"
        "  latency_us      publish to receive, messages sent after the warmup (p50, p99, p999, max)\n"
        "  connect_p50_us, connect_p99_us, connect_max_us   CONNECT -> CONNACK per connection\n"
        "  connect_secs, connects_per_sec   start of connecting to the last CONNACK, connected / connect_secs\n");
}

bool parse(int argc, char** argv, Settings& s) {
    if (argc < 2) return false;
    s.scenario = argv[1];
    if (s.scenario != "conn" && s.scenario != "fanin" && s.scenario != "fanout" && s.scenario != "pairs") return false;
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--persistent") {
            s.persistent = true;
            continue;
        }
        if (i + 1 >= argc) return false;
        const char* v = argv[++i];
        if (a == "-h")
            s.host = v;
        else if (a == "-p")
            s.port = static_cast<uint16_t>(std::atoi(v));
        else if (a == "-q")
            s.qos = std::atoi(v);
        else if (a == "-s")
            s.size = std::max(static_cast<int>(kHeader), std::atoi(v));
        else if (a == "-n")
            s.count = std::max(1, std::atoi(v));
        else if (a == "--rate")
            s.rate = std::atof(v);
        else if (a == "--window")
            s.window = static_cast<size_t>(std::atoll(v));
        else if (a == "--outstanding")
            s.outstanding = static_cast<uint64_t>(std::max(1ll, std::atoll(v)));
        else if (a == "--duration")
            s.duration = std::atof(v);
        else if (a == "--warmup")
            s.warmup = std::atof(v);
        else if (a == "--threads")
            s.threads = std::max(1, std::atoi(v));
        else if (a == "-V")
            s.version = std::string(v) == "mqttv5" || std::string(v) == "5" ? protocol::ProtocolVersion::kV5
                                                                            : protocol::ProtocolVersion::kV311;
        else
            return false;
    }
    // Only loopback or a host named explicitly: never a default remote target.
    if (s.qos < 0 || s.qos > 2 || !(s.duration > 0) || s.duration > 3600 || !(s.warmup >= 0)) return false;
    if (s.scenario != "conn" && s.warmup >= s.duration) {
        std::fprintf(stderr, "starling_bench: --warmup must be shorter than --duration\n");
        return false;
    }
    return true;
}

client::ClientOptions optionsFor(const Settings& s, const std::string& id, bool persistent = false) {
    client::ClientOptions o;
    o.host = s.host;
    o.port = s.port;
    o.version = s.version;
    o.client_id = id;
    o.keep_alive = 60;
    o.tcp_nodelay = true;
    o.max_inflight = kMaxInflight;
    if (persistent) {
        o.clean_start = false;
        if (s.version == protocol::ProtocolVersion::kV5)
            o.connect_properties.mutableView().session_expiry_interval = kSessionExpiry;
    }
    return o;
}

void pump(Publisher& p, const Settings& s) {
    if (p.stopped || !p.mqtt->connected()) return;
    if (s.rate > 0) {
        int64_t now = nowNs();
        while (p.next_due <= now && p.next_due < s.stop_at) {
            p.sendOne(p.next_due, s.qos);  // scheduled time: a stalled sender shows up as latency
            p.next_due += static_cast<int64_t>(p.interval_ns);
        }
        if (p.next_due >= s.stop_at) {
            p.stopped = true;
            return;
        }
        p.timer->startAt(timePoint(p.next_due), [&p, &s] { pump(p, s); });
    } else {
        while (p.mqtt->queuedBytes() < s.window && p.mqtt->inflightCount() < kMaxInflight) {
            int64_t now = nowNs();
            if (now >= s.stop_at) {
                p.stopped = true;
                return;
            }
            if (s.outstanding &&
                p.seq - g_stream_rx[p.stream].load(std::memory_order_relaxed) / g_receivers_per_stream >=
                    s.outstanding) {
                // Receipts come in on other threads: look again shortly (no write or ack callback may follow).
                if (!p.waiting) {
                    p.waiting = true;
                    p.timer->start(std::chrono::microseconds(100), [&p, &s] {
                        p.waiting = false;
                        pump(p, s);
                    });
                }
                return;
            }
            size_t before = p.seq;
            p.sendOne(now, s.qos);
            if (p.seq == before) return;  // no packet id: wait for an acknowledgement
        }
    }
}

uint32_t percentile(const std::vector<uint32_t>& sorted, double p) {
    if (sorted.empty()) return 0;
    return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())))];
}

}  // namespace

int main(int argc, char** argv) {
    Settings s;
    if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-?") == 0)) {
        usage(stdout);
        return 0;
    }
    if (!parse(argc, argv, s)) {
        usage(stderr);
        return 1;
    }
    std::vector<std::unique_ptr<Worker>> workers;
    for (int i = 0; i < s.threads; ++i)
        workers.push_back(std::make_unique<Worker>());
    int pubs = 0, subs = 0;
    if (s.scenario == "fanin")
        pubs = s.count, subs = 1;
    else if (s.scenario == "fanout")
        pubs = 1, subs = s.count;
    else if (s.scenario == "pairs")
        pubs = subs = s.count;
    else
        subs = s.count;  // conn: connections that only hold

    g_streams = static_cast<size_t>(pubs);
    g_stream_rx = std::make_unique<std::atomic<uint64_t>[]>(g_streams);
    g_receivers_per_stream = s.scenario == "fanout" ? static_cast<uint64_t>(subs) : 1;

    const int64_t start = nowNs();
    s.measure_from = start + static_cast<int64_t>(s.warmup * 1e9);
    s.stop_at = start + static_cast<int64_t>(s.duration * 1e9);
    std::string error;
    for (int i = 0; i < subs; ++i) {
        Worker& w = *workers[i % s.threads];
        auto rx = std::make_unique<Receiver>();
        rx->s = &s;
        if (s.scenario == "pairs") rx->only_stream = i;
        auto c =
            std::make_unique<client::Client>(w.loop, optionsFor(s, "bench-sub-" + std::to_string(i), s.persistent));
        Receiver* r = rx.get();
        client::Client* cp = c.get();
        std::string filter = s.scenario == "pairs" ? "bench/" + std::to_string(i) : "bench/#";
        c->onMessage([r](const protocol::Publish& m) { r->onMessage(m.payload); });
        c->onConnect([cp, filter, &s, &w](const client::ConnackInfo& ci) {
            if (ci.code != 0) return;
            w.connected(ci);
            if (s.scenario == "conn") return;
            protocol::TopicSubscription t;
            t.filter = filter;
            t.options.qos = static_cast<protocol::QoS>(s.qos);
            cp->subscribe(std::span(&t, 1));
        });
        if (!c->connect(error)) return 1;
        w.subscribers.push_back(std::move(c));
        w.receivers.push_back(std::move(rx));
    }
    // Publishers start after a short settle so subscriptions are in place.
    for (int i = 0; i < pubs; ++i) {
        Worker& w = *workers[i % s.threads];
        auto p = std::make_unique<Publisher>();
        p->stream = static_cast<uint32_t>(i);
        p->topic = "bench/" + std::to_string(i);
        p->payload.assign(static_cast<size_t>(s.size), 'x');
        p->mqtt = std::make_unique<client::Client>(w.loop, optionsFor(s, "bench-pub-" + std::to_string(i)));
        p->timer = std::make_unique<client::Timer>(w.loop);
        if (s.rate > 0) p->interval_ns = 1e9 / (s.rate / pubs);
        if (s.qos > 0) p->id_seq.assign(65536, 0);
        Publisher* pp = p.get();
        p->mqtt->onConnect([pp, &s, &w](const client::ConnackInfo& ci) {
            if (ci.code != 0) return;
            w.connected(ci);
            pp->timer->start(std::chrono::milliseconds(500), [pp, &s] {
                pp->next_due = nowNs();
                pump(*pp, s);
            });
        });
        if (s.qos > 0) {
            p->mqtt->onPublished([pp, &s](uint16_t mid, uint8_t reason) {
                pp->onAck(mid, reason);
                if (s.rate <= 0) pump(*pp, s);
            });
        }
        if (s.rate <= 0) p->mqtt->onWritten([pp, &s](size_t) { pump(*pp, s); });
        if (!p->mqtt->connect(error)) return 1;
        w.publishers.push_back(std::move(p));
    }
    const int64_t connect_start = nowNs();  // clients are set up; connecting starts with the loops
    for (auto& w : workers)
        w->thread = std::thread([&w] { w->loop.run(); });

    // One progress line per whole second, then wait for the exact end of the publishing window.
    uint64_t last = 0;
    for (int sec = 1; start + sec * int64_t{1'000'000'000} <= s.stop_at; ++sec) {
        std::this_thread::sleep_until(timePoint(start + sec * int64_t{1'000'000'000}));
        uint64_t now_rx = g_received.load();
        std::fprintf(stderr, "[%3ds] connected=%d sent=%llu received=%llu rate=%llu msg/s\n", sec, g_connected.load(),
                     static_cast<unsigned long long>(g_sent.load()), static_cast<unsigned long long>(now_rx),
                     static_cast<unsigned long long>(now_rx - last));
        last = now_rx;
    }
    std::this_thread::sleep_until(timePoint(s.stop_at));
    // Publishers stop themselves at stop_at; this also cancels their timers and covers a stalled flood
    // publisher that got no write or acknowledgement callback since.
    for (auto& w : workers) {
        w->loop.post([&w] {
            for (auto& p : w->publishers) {
                p->stopped = true;
                p->timer->cancel();
            }
        });
    }
    const uint64_t rx_at_stop = g_received.load();
    std::fprintf(stderr, "[stop] after %.3fs: connected=%d sent=%llu received=%llu; draining up to %llds\n",
                 static_cast<double>(nowNs() - start) / 1e9, g_connected.load(),
                 static_cast<unsigned long long>(g_sent.load()), static_cast<unsigned long long>(rx_at_stop),
                 static_cast<long long>(kDrain.count()));
    // Let in-flight messages drain (until everything sent has arrived and, QoS 1/2, has been acknowledged; at
    // most kDrain), then stop the loops.
    auto drain_end = timePoint(s.stop_at) + kDrain;
    for (;;) {
        uint64_t sent_total = g_sent.load();
        uint64_t want = s.scenario == "fanout" ? sent_total * subs : sent_total;
        bool done = g_received.load() >= want && (s.qos == 0 || g_acked.load() >= sent_total);
        if (done || Clock::now() >= drain_end) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (auto& w : workers)
        w->loop.stop();
    for (auto& w : workers)
        w->thread.join();
    const int64_t end = nowNs();
    std::fprintf(stderr, "[drain] %.3fs: received=%llu (+%llu)\n", static_cast<double>(end - s.stop_at) / 1e9,
                 static_cast<unsigned long long>(g_received.load()),
                 static_cast<unsigned long long>(g_received.load() - rx_at_stop));

    // Per stream: what was sent, what the broker acknowledged.
    std::vector<const Publisher*> by_stream(static_cast<size_t>(pubs), nullptr);
    uint64_t unacked = 0, rejected = 0, no_packet_id = 0;
    for (auto& w : workers) {
        for (auto& p : w->publishers) {
            by_stream[p->stream] = p.get();
            unacked += p->seq - std::min(p->seq, p->acked_count + p->rejected);
            rejected += p->rejected;
            no_packet_id += p->no_packet_id;
        }
    }
    if (no_packet_id > 0) {
        std::fprintf(stderr,
                     "warning: %llu scheduled messages not published: no free packet id (65535 unacknowledged)\n",
                     static_cast<unsigned long long>(no_packet_id));
    }
    uint64_t received = 0, dups = 0, ooo = 0, in_window = 0, drained = 0, lost = 0, lost_acked = 0;
    std::vector<uint32_t> lat, conn_lat;
    int64_t last_connack = 0;
    for (auto& w : workers) {
        conn_lat.insert(conn_lat.end(), w->connect_us.begin(), w->connect_us.end());
        last_connack = std::max(last_connack, w->last_connack);
        for (auto& r : w->receivers) {
            received += r->received;
            dups += r->duplicates;
            ooo += r->out_of_order;
            in_window += r->in_window;
            drained += r->drained;
            lat.insert(lat.end(), r->latency_us.begin(), r->latency_us.end());
            for (size_t st = 0; st < by_stream.size(); ++st) {
                if (r->only_stream >= 0 && static_cast<size_t>(r->only_stream) != st) continue;
                const Publisher& p = *by_stream[st];
                static const std::vector<bool> kNone;
                const std::vector<bool>& seen = st < r->streams.size() ? r->streams[st].seen : kNone;
                for (uint64_t q = 0; q < p.seq; ++q) {
                    if (q < seen.size() && seen[q]) continue;
                    ++lost;
                    if (q < p.acked.size() && p.acked[q]) ++lost_acked;
                }
            }
        }
    }
    std::sort(lat.begin(), lat.end());
    std::sort(conn_lat.begin(), conn_lat.end());

    // The window starts at the end of the warmup, or at the first publish when that came later.
    int64_t first = g_first_publish.load();
    int64_t window_from = std::max(s.measure_from, first == INT64_MAX ? s.measure_from : first);
    double window_secs = std::max<double>(0, static_cast<double>(s.stop_at - window_from) / 1e9);
    double rate = window_secs > 0 ? static_cast<double>(in_window) / window_secs : 0;
    double connect_secs = last_connack > connect_start ? static_cast<double>(last_connack - connect_start) / 1e9 : 0;
    int connected = g_connected.load();

    char acks[160];
    if (s.qos > 0) {
        std::snprintf(acks, sizeof(acks), "%llu,\"unacked\":%llu,\"rejected\":%llu",
                      static_cast<unsigned long long>(lost_acked), static_cast<unsigned long long>(unacked),
                      static_cast<unsigned long long>(rejected));
    } else {
        std::snprintf(acks, sizeof(acks), "null,\"unacked\":null,\"rejected\":null");
    }
    std::printf(
        "{\"scenario\":\"%s\",\"qos\":%d,\"payload\":%d,\"count\":%d,\"threads\":%d,\"connected\":%d,"
        "\"duration\":%.3f,\"window_secs\":%.3f,\"sent\":%llu,\"received\":%llu,\"window_received\":%llu,"
        "\"rate\":%.0f,\"drained\":%llu,\"lost\":%llu,\"lost_acked\":%s,\"duplicates\":%llu,\"out_of_order\":%llu,"
        "\"latency_us\":{\"p50\":%u,\"p99\":%u,\"p999\":%u,\"max\":%u},"
        "\"connect_p50_us\":%u,\"connect_p99_us\":%u,\"connect_max_us\":%u,\"connect_secs\":%.3f,"
        "\"connects_per_sec\":%.0f,\"persistent\":%s}\n",
        s.scenario.c_str(), s.qos, s.size, s.count, s.threads, connected, s.duration, window_secs,
        static_cast<unsigned long long>(g_sent.load()), static_cast<unsigned long long>(received),
        static_cast<unsigned long long>(in_window), rate, static_cast<unsigned long long>(drained),
        static_cast<unsigned long long>(lost), acks, static_cast<unsigned long long>(dups),
        static_cast<unsigned long long>(ooo), percentile(lat, 0.5), percentile(lat, 0.99), percentile(lat, 0.999),
        lat.empty() ? 0 : lat.back(), percentile(conn_lat, 0.5), percentile(conn_lat, 0.99),
        conn_lat.empty() ? 0 : conn_lat.back(), connect_secs,
        connect_secs > 0 ? static_cast<double>(connected) / connect_secs : 0, s.persistent ? "true" : "false");
    return 0;
}
