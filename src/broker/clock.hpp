#pragma once
// Wall-clock milliseconds since the Unix epoch: expiry times are absolute, so that they survive a restart.
#include <chrono>
#include <cstdint>

namespace starling::broker {

inline uint64_t systemNowMs() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

}  // namespace starling::broker
