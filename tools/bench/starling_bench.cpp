// starling_bench: load generator for any MQTT broker. Scenarios conn / fanin / fanout / pairs; measured at the
// subscriber from a header in every payload (stream, sequence, send time): delivered msg/s, latency
// percentiles, lost / duplicate / out-of-order per stream. One progress line per second on stderr, one JSON
// summary line on stdout; bounded by --duration. Each thread runs one EventLoop with its share of clients.
#include <algorithm>
#include <atomic>
#include <chrono>
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
    int count = 1;            // P publishers (fanin), S subscribers (fanout), N pairs, C connections (conn)
    double rate = 0;          // total msg/s; 0 = flood
    size_t window = 1 << 20;  // flood: bytes queued per publisher
    double duration = 10, warmup = 1;
    int threads = 2;
    protocol::ProtocolVersion version = protocol::ProtocolVersion::kV311;
};

constexpr size_t kHeader = 20;  // stream u32, seq u64, send time ns u64

int64_t nowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

std::atomic<uint64_t> g_received{0};
std::atomic<uint64_t> g_sent{0};
std::atomic<int> g_connected{0};

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
    int64_t measure_from = 0;
    int only_stream = -1;  // pairs: the one stream this subscriber gets

    void onMessage(std::string_view payload) {
        if (payload.size() < kHeader) return;
        uint32_t stream;
        uint64_t seq;
        int64_t sent;
        std::memcpy(&stream, payload.data(), 4);
        std::memcpy(&seq, payload.data() + 4, 8);
        std::memcpy(&sent, payload.data() + 12, 8);
        if (stream >= streams.size()) streams.resize(stream + 1);
        Stream& s = streams[stream];
        if (seq >= s.seen.size()) s.seen.resize(std::max<size_t>(seq + 1, s.seen.size() * 2));
        if (s.seen[seq]) {
            ++duplicates;
            return;
        }
        s.seen[seq] = true;
        if (s.any && seq < s.max_seen) ++out_of_order;
        s.max_seen = std::max(s.max_seen, seq);
        s.any = true;
        ++received;
        g_received.fetch_add(1, std::memory_order_relaxed);
        int64_t now = nowNs();
        if (sent >= measure_from) latency_us.push_back(static_cast<uint32_t>(std::max<int64_t>(0, now - sent) / 1000));
    }
};

struct Publisher {
    std::unique_ptr<client::Client> mqtt;
    std::unique_ptr<client::Timer> timer;
    uint32_t stream = 0;
    uint64_t seq = 0;
    std::string topic;
    std::string payload;
    double interval_ns = 0;
    int64_t next_due = 0;
    bool stopped = false;

    void sendOne(int64_t stamp, int qos) {
        std::memcpy(payload.data(), &stream, 4);
        std::memcpy(payload.data() + 4, &seq, 8);
        std::memcpy(payload.data() + 12, &stamp, 8);
        ++seq;
        mqtt->publish(topic, payload, static_cast<protocol::QoS>(qos), false);
        g_sent.fetch_add(1, std::memory_order_relaxed);
    }
};

struct Worker {
    client::EventLoop loop;
    std::vector<std::unique_ptr<client::Client>> subscribers;
    std::vector<std::unique_ptr<Publisher>> publishers;
    std::vector<std::unique_ptr<Receiver>> receivers;
    std::thread thread;
};

void usage() {
    std::fprintf(stderr,
                 "Usage: starling_bench conn|fanin|fanout|pairs [-h host] [-p port] [-q qos] [-s payload_bytes]\n"
                 "                      [-n count] [--rate msgs_per_sec | --window bytes] [--duration secs]\n"
                 "                      [--warmup secs] [--threads n] [-V mqttv311|mqttv5]\n");
}

bool parse(int argc, char** argv, Settings& s) {
    if (argc < 2) return false;
    s.scenario = argv[1];
    if (s.scenario != "conn" && s.scenario != "fanin" && s.scenario != "fanout" && s.scenario != "pairs") return false;
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
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
    return s.qos >= 0 && s.qos <= 2 && s.duration > 0 && s.duration <= 3600;
}

client::ClientOptions optionsFor(const Settings& s, const std::string& id) {
    client::ClientOptions o;
    o.host = s.host;
    o.port = s.port;
    o.version = s.version;
    o.client_id = id;
    o.keep_alive = 60;
    o.tcp_nodelay = true;
    o.max_inflight = 1000;
    return o;
}

void pump(Publisher& p, const Settings& s) {
    if (p.stopped || !p.mqtt->connected()) return;
    if (s.rate > 0) {
        int64_t now = nowNs();
        while (p.next_due <= now) {
            p.sendOne(p.next_due, s.qos);  // scheduled time: a stalled sender shows up as latency
            p.next_due += static_cast<int64_t>(p.interval_ns);
        }
        p.timer->startAt(Clock::time_point(std::chrono::nanoseconds(p.next_due)), [&p, &s] { pump(p, s); });
    } else {
        while (p.mqtt->queuedBytes() < s.window && p.mqtt->inflightCount() < 1000)
            p.sendOne(nowNs(), s.qos);
    }
}

}  // namespace

int main(int argc, char** argv) {
    Settings s;
    if (!parse(argc, argv, s)) {
        usage();
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

    const int64_t start = nowNs();
    const int64_t measure_from = start + static_cast<int64_t>(s.warmup * 1e9);
    std::string error;
    for (int i = 0; i < subs; ++i) {
        Worker& w = *workers[i % s.threads];
        auto rx = std::make_unique<Receiver>();
        rx->measure_from = measure_from;
        if (s.scenario == "pairs") rx->only_stream = i;
        auto c = std::make_unique<client::Client>(w.loop, optionsFor(s, "bench-sub-" + std::to_string(i)));
        Receiver* r = rx.get();
        client::Client* cp = c.get();
        std::string filter = s.scenario == "pairs" ? "bench/" + std::to_string(i) : "bench/#";
        c->onMessage([r](const protocol::Publish& m) { r->onMessage(m.payload); });
        c->onConnect([cp, filter, &s](const client::ConnackInfo& ci) {
            if (ci.code != 0) return;
            g_connected.fetch_add(1);
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
        Publisher* pp = p.get();
        p->mqtt->onConnect([pp, &s](const client::ConnackInfo& ci) {
            if (ci.code != 0) return;
            g_connected.fetch_add(1);
            pp->timer->start(std::chrono::milliseconds(500), [pp, &s] {
                pp->next_due = nowNs();
                pump(*pp, s);
            });
        });
        if (s.rate <= 0) {
            p->mqtt->onWritten([pp, &s](size_t) { pump(*pp, s); });
            p->mqtt->onPublished([pp, &s](uint16_t, uint8_t) { pump(*pp, s); });
        }
        if (!p->mqtt->connect(error)) return 1;
        w.publishers.push_back(std::move(p));
    }
    for (auto& w : workers)
        w->thread = std::thread([&w] { w->loop.run(); });

    const double total = s.duration + 0.5;
    uint64_t last = 0;
    auto next = Clock::now();
    for (int sec = 1; sec <= static_cast<int>(total + 0.999); ++sec) {
        next += std::chrono::seconds(1);
        std::this_thread::sleep_until(next);
        uint64_t now_rx = g_received.load();
        std::fprintf(stderr, "[%3ds] connected=%d sent=%llu received=%llu rate=%llu msg/s\n", sec, g_connected.load(),
                     static_cast<unsigned long long>(g_sent.load()), static_cast<unsigned long long>(now_rx),
                     static_cast<unsigned long long>(now_rx - last));
        last = now_rx;
        if (sec >= s.duration) break;
    }
    // Stop publishing, let in-flight messages drain, then stop the loops.
    for (auto& w : workers) {
        w->loop.post([&w] {
            for (auto& p : w->publishers) {
                p->stopped = true;
                p->timer->cancel();
            }
        });
    }
    uint64_t sent_total = g_sent.load();
    auto drain_end = Clock::now() + std::chrono::seconds(3);
    while (Clock::now() < drain_end) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        sent_total = g_sent.load();
        uint64_t want = s.scenario == "fanout" ? sent_total * subs : sent_total;
        if (g_received.load() >= want) break;
    }
    for (auto& w : workers)
        w->loop.stop();
    for (auto& w : workers)
        w->thread.join();

    uint64_t received = 0, dups = 0, ooo = 0;
    std::vector<uint32_t> lat;
    std::vector<uint64_t> sent_per_stream(static_cast<size_t>(pubs), 0);
    for (auto& w : workers) {
        for (auto& p : w->publishers)
            sent_per_stream[p->stream] = p->seq;
    }
    uint64_t lost = 0;
    for (auto& w : workers) {
        for (auto& r : w->receivers) {
            received += r->received;
            dups += r->duplicates;
            ooo += r->out_of_order;
            lat.insert(lat.end(), r->latency_us.begin(), r->latency_us.end());
            if (s.scenario == "conn") continue;
            for (size_t st = 0; st < sent_per_stream.size(); ++st) {
                if (r->only_stream >= 0 && static_cast<size_t>(r->only_stream) != st) continue;
                uint64_t got = 0;
                if (st < r->streams.size()) {
                    for (bool b : r->streams[st].seen)
                        got += b;
                }
                lost += sent_per_stream[st] - std::min(got, sent_per_stream[st]);
            }
        }
    }
    std::sort(lat.begin(), lat.end());
    auto pct = [&lat](double p) -> uint32_t {
        if (lat.empty()) return 0;
        return lat[std::min(lat.size() - 1, static_cast<size_t>(p * static_cast<double>(lat.size())))];
    };
    double measured_secs = std::max(0.001, s.duration - s.warmup);
    std::printf(
        "{\"scenario\":\"%s\",\"qos\":%d,\"payload\":%d,\"count\":%d,\"threads\":%d,\"connected\":%d,\"sent\":%llu,"
        "\"received\":%llu,\"msgs_per_sec\":%.0f,\"lost\":%llu,\"duplicates\":%llu,\"out_of_order\":%llu,"
        "\"latency_us\":{\"p50\":%u,\"p99\":%u,\"p999\":%u,\"max\":%u}}\n",
        s.scenario.c_str(), s.qos, s.size, s.count, s.threads, g_connected.load(),
        static_cast<unsigned long long>(g_sent.load()), static_cast<unsigned long long>(received),
        static_cast<double>(lat.size()) / measured_secs, static_cast<unsigned long long>(lost),
        static_cast<unsigned long long>(dups), static_cast<unsigned long long>(ooo), pct(0.5), pct(0.99), pct(0.999),
        lat.empty() ? 0 : lat.back());
    return 0;
}
