// Topic-filter matching and validation.
#include <benchmark/benchmark.h>

#include <string_view>

#include "protocol/topic.hpp"

namespace starling::protocol {
namespace {

constexpr std::string_view kTopic = "sensors/building-7/floor-3/room-12/temperature";

void BM_TopicMatches(benchmark::State& state, std::string_view filter) {
    for (auto _ : state) {
        bool m = topicMatches(filter, kTopic);
        benchmark::DoNotOptimize(m);
    }
}
BENCHMARK_CAPTURE(BM_TopicMatches, exact, std::string_view("sensors/building-7/floor-3/room-12/temperature"));
BENCHMARK_CAPTURE(BM_TopicMatches, plus, std::string_view("sensors/+/floor-3/+/temperature"));
BENCHMARK_CAPTURE(BM_TopicMatches, hash, std::string_view("sensors/building-7/#"));
BENCHMARK_CAPTURE(BM_TopicMatches, miss_early, std::string_view("actuators/#"));
BENCHMARK_CAPTURE(BM_TopicMatches, miss_late, std::string_view("sensors/building-7/floor-3/room-12/humidity"));

void BM_IsValidTopicName(benchmark::State& state) {
    for (auto _ : state) {
        bool ok = isValidTopicName(kTopic);
        benchmark::DoNotOptimize(ok);
    }
}
BENCHMARK(BM_IsValidTopicName);

void BM_IsValidTopicFilter(benchmark::State& state) {
    for (auto _ : state) {
        bool ok = isValidTopicFilter("$share/group/sensors/+/floor-3/+/temperature/#");
        benchmark::DoNotOptimize(ok);
    }
}
BENCHMARK(BM_IsValidTopicFilter);

}  // namespace
}  // namespace starling::protocol
