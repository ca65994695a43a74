#pragma once
// A statistics counter written by one thread (its worker) and read by any: relaxed atomics without a
// locked read-modify-write on the hot path.
#include <atomic>
#include <cstdint>

namespace starling {

class Counter {
  public:
    void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    void sub(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
    void set(uint64_t n) { v_.store(n, std::memory_order_relaxed); }
    uint64_t get() const { return v_.load(std::memory_order_relaxed); }

  private:
    std::atomic<uint64_t> v_{0};
};

}  // namespace starling
