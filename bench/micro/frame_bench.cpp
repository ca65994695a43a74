// Frame splitting of a buffer holding many packets, and variable byte integers.
#include <benchmark/benchmark.h>

#include <string>

#include "protocol/frame.hpp"
#include "protocol/pub_ack.hpp"
#include "protocol/publish.hpp"

namespace starling::protocol {
namespace {

void BM_FrameSplitter(benchmark::State& state) {
    const size_t payload_size = static_cast<size_t>(state.range(0));
    std::string payload(payload_size, 'x');
    Bytes stream;
    for (uint16_t i = 1; i <= 64; ++i) {
        Publish p;
        p.qos = QoS::kAtLeastOnce;
        p.packet_id = i;
        p.topic = "a/b/c";
        p.payload = payload;
        encodePublish(stream, p, ProtocolVersion::kV311);
        PubAck a;
        a.packet_id = i;
        encodePubAck(stream, a, ProtocolVersion::kV311);
    }
    FrameSplitter splitter;
    size_t frames = 0;
    for (auto _ : state) {
        ByteSpan rest(stream.data(), stream.size());
        for (;;) {
            SplitResult r = splitter.next(rest);
            if (r.status != SplitStatus::kFrame) break;
            ++frames;
            rest = rest.subspan(r.frame.size);
        }
        benchmark::DoNotOptimize(rest);
    }
    state.SetItemsProcessed(static_cast<int64_t>(frames));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(BM_FrameSplitter)->Arg(16)->Arg(1024);

void BM_DecodeVarint(benchmark::State& state) {
    Bytes b;
    appendVarint(b, static_cast<uint32_t>(state.range(0)));
    for (auto _ : state) {
        auto d = decodeVarint(ByteSpan(b.data(), b.size()));
        benchmark::DoNotOptimize(d);
    }
}
BENCHMARK(BM_DecodeVarint)->Arg(100)->Arg(20000)->Arg(kMaxVarint);

}  // namespace
}  // namespace starling::protocol
