// Topic matching on the PUBLISH hot path: one FilterTrie on its own, and Shard::publish of one or two
// workers with a subscriber holding 1, 100 or 10,000 subscriptions (wildcards included), through a link
// that drops what is written to it.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker.hpp"
#include "broker/client_link.hpp"
#include "broker/filter_trie.hpp"
#include "broker/message.hpp"
#include "broker/security.hpp"
#include "broker/shard.hpp"
#include "protocol/connect.hpp"
#include "protocol/frame.hpp"
#include "protocol/subscribe.hpp"

namespace starling::broker {
namespace {

// `n` filters: a few that match "bench/3" or "a/b/c/d" ("bench/#" alone when n is 1), the rest spread
// over exact filters, `+` in the middle or in front, and `#`, some of them beside "bench/3".
std::vector<std::string> filtersOf(size_t n) {
    std::vector<std::string> f{"bench/#"};
    for (const char* s : {"bench/3", "a/b/c/d", "a/+/c/d", "a/b/#", "+/b/c/+", "+/+"})
        if (f.size() < n) f.emplace_back(s);
    for (size_t i = 0; f.size() < n; ++i) {
        std::string k = std::to_string(i);
        switch (i % 10) {
            case 0:
            case 1:
            case 2:
            case 3:
                f.push_back("site/" + std::to_string(i % 50) + "/dev/" + k + "/temp");
                break;
            case 4:
            case 5:
                f.push_back("bench/x" + k);
                break;
            case 6:
            case 7:
                f.push_back("site/" + std::to_string(i % 50) + "/+/" + k + "/temp");
                break;
            case 8:
                f.push_back("site/" + k + "/#");
                break;
            default:
                f.push_back("+/" + k + "/status");
                break;
        }
    }
    return f;
}

void BM_TrieMatch(benchmark::State& state, std::string_view topic) {
    FilterTrie<uint64_t> trie;
    for (const auto& f : filtersOf(static_cast<size_t>(state.range(0))))
        trie.at(f) |= 1;
    for (auto _ : state) {
        uint64_t workers = 0;
        trie.match(topic, [&](uint64_t& mask) { workers |= mask; });
        benchmark::DoNotOptimize(workers);
    }
}
BENCHMARK_CAPTURE(BM_TrieMatch, bench_3, std::string_view("bench/3"))->ArgName("filters")->Arg(1)->Arg(100)->Arg(10000);
BENCHMARK_CAPTURE(BM_TrieMatch, a_b_c_d, std::string_view("a/b/c/d"))->ArgName("filters")->Arg(1)->Arg(100)->Arg(10000);

// Keeps nothing: the cost measured is the broker's, not a socket's.
class NullLink : public ClientLink {
  public:
    protocol::Bytes& writeBuffer() override {
        out_.clear();
        return out_;
    }
    void writeMessageTail(const MessagePtr&, bool) override {}
    void flushSoon() override {}
    uint64_t pendingOutputBytes() const override { return 0; }
    void close(CloseReason) override {}
    const std::string& remoteAddress() const override { return address_; }

  private:
    protocol::Bytes out_;
    std::string address_ = "127.0.0.1:1";
};

protocol::Frame frameOf(const protocol::Bytes& wire) {
    return protocol::FrameSplitter().next(protocol::ByteSpan(wire.data(), wire.size())).frame;
}

// The connection log would drown the results.
const bool kQuiet = (spdlog::set_level(spdlog::level::off), true);

// Runs what one worker posts to another at once: route changes are all the benchmark posts.
class InlinePoster : public WorkerPoster {
  public:
    void post(unsigned, std::function<void()> fn) override { fn(); }
};

// `workers` workers, one client subscribed to `filters` on the worker that owns it (shard()).
struct Workers {
    Workers(unsigned workers, const std::vector<std::string>& filters) : broker(config::Config{}, workers) {
        broker.setPoster(&poster);
        broker.setSecurity(std::make_shared<const Security>(broker.config(), true));
        Shard& shard = this->shard();
        shard.onOpened(link);
        protocol::Bytes wire;
        protocol::Connect c;
        c.client_id = "subscriber";
        protocol::encodeConnect(wire, c);
        shard.onFrame(link, frameOf(wire));
        for (size_t i = 0; i < filters.size(); i += 100) {
            protocol::Subscribe s;
            s.packet_id = static_cast<uint16_t>(1 + i / 100);
            for (size_t j = i; j < filters.size() && j < i + 100; ++j)
                s.topics.push_back({filters[j], {}});
            wire.clear();
            protocol::encodeSubscribe(wire, s, protocol::ProtocolVersion::kV311);
            shard.onFrame(link, frameOf(wire));
        }
    }
    ~Workers() { shard().onClosed(link); }
    Shard& shard() { return broker.shard(broker.ownerOf("subscriber")); }

    InlinePoster poster;
    Broker broker;
    NullLink link;
};

// A message published on the subscriber's worker: with one worker its trie alone is walked, with two the
// route index first.
void BM_ShardPublish(benchmark::State& state, std::string_view topic) {
    Workers w(static_cast<unsigned>(state.range(1)), filtersOf(static_cast<size_t>(state.range(0))));
    Message::Init init;
    init.topic = topic;
    init.payload = "payload";
    MessagePtr m = Message::create(init);
    Shard& shard = w.shard();
    auto sent = [&shard] {
        const auto& out = shard.stats().publish_out_by_qos;
        return out[0].get() + out[1].get() + out[2].get();
    };
    uint64_t sent_before = sent();
    for (auto _ : state) {
        bool matched = shard.publish(m);
        benchmark::DoNotOptimize(matched);
    }
    // PUBLISH packets written per message: 1 when some filter matched (one copy for overlapping ones).
    state.counters["sent"] =
        benchmark::Counter(static_cast<double>(sent() - sent_before), benchmark::Counter::kAvgIterations);
}
BENCHMARK_CAPTURE(BM_ShardPublish, bench_3, std::string_view("bench/3"))
    ->ArgNames({"filters", "workers"})
    ->ArgsProduct({{1, 100, 10000}, {1, 2}});
BENCHMARK_CAPTURE(BM_ShardPublish, a_b_c_d, std::string_view("a/b/c/d"))
    ->ArgNames({"filters", "workers"})
    ->ArgsProduct({{1, 100, 10000}, {1, 2}});

}  // namespace
}  // namespace starling::broker
