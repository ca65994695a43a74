// PUBLISH decode and encode: the per-message cost on the broker's hot path.
#include <benchmark/benchmark.h>

#include <string>

#include "protocol/frame.hpp"
#include "protocol/publish.hpp"

namespace starling::protocol {
namespace {

Publish samplePublish(bool with_props, size_t payload_size, std::string& payload) {
    payload.assign(payload_size, 'x');
    Publish p;
    p.qos = QoS::kAtLeastOnce;
    p.packet_id = 1234;
    p.topic = "sensors/building-7/floor-3/room-12/temperature";
    p.payload = payload;
    if (with_props) {
        p.properties.payload_format_indicator = 1;
        p.properties.message_expiry_interval = 3600;
        p.properties.content_type = "application/json";
        p.properties.user_properties = {{"trace-id", "4bf92f3577b34da6"}};
    }
    return p;
}

void BM_DecodePublish(benchmark::State& state, ProtocolVersion v, bool with_props) {
    std::string payload;
    Publish p = samplePublish(with_props, static_cast<size_t>(state.range(0)), payload);
    Bytes wire;
    encodePublish(wire, p, v);
    Frame f = FrameSplitter().next(ByteSpan(wire.data(), wire.size())).frame;
    for (auto _ : state) {
        auto d = decodePublish(f.flags(), f.body, v);
        benchmark::DoNotOptimize(d);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire.size()));
}
BENCHMARK_CAPTURE(BM_DecodePublish, v311, ProtocolVersion::kV311, false)->Arg(16)->Arg(1024);
BENCHMARK_CAPTURE(BM_DecodePublish, v5_no_props, ProtocolVersion::kV5, false)->Arg(16)->Arg(1024);
BENCHMARK_CAPTURE(BM_DecodePublish, v5_props, ProtocolVersion::kV5, true)->Arg(16)->Arg(1024);

void BM_EncodePublish(benchmark::State& state, ProtocolVersion v, bool with_props) {
    std::string payload;
    Publish p = samplePublish(with_props, static_cast<size_t>(state.range(0)), payload);
    Bytes out;
    out.reserve(4096);
    for (auto _ : state) {
        out.clear();
        encodePublish(out, p, v);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK_CAPTURE(BM_EncodePublish, v311, ProtocolVersion::kV311, false)->Arg(16)->Arg(1024);
BENCHMARK_CAPTURE(BM_EncodePublish, v5_props, ProtocolVersion::kV5, true)->Arg(16)->Arg(1024);

// Zero-copy fan-out: per-subscriber header, the shared property block and payload written elsewhere.
void BM_EncodePublishHeader(benchmark::State& state, ProtocolVersion v) {
    Publish p;
    p.qos = QoS::kAtLeastOnce;
    p.packet_id = 77;
    p.topic = "sensors/building-7/floor-3/room-12/temperature";
    if (v == ProtocolVersion::kV5) p.properties.subscription_identifiers = {12};
    Bytes out;
    out.reserve(256);
    for (auto _ : state) {
        out.clear();
        encodePublishHeader(out, p, 40, 1024, v);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK_CAPTURE(BM_EncodePublishHeader, v311, ProtocolVersion::kV311);
BENCHMARK_CAPTURE(BM_EncodePublishHeader, v5_subscription_id, ProtocolVersion::kV5);

}  // namespace
}  // namespace starling::protocol
