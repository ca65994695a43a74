#pragma once
// Asking the MQTT workers from the HTTP thread: a function runs on each worker's own thread (sessions are
// owned by one worker and never locked), and the caller waits for every answer or gives up after a timeout.
// A late answer lands in state the caller no longer reads; it never touches freed memory.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "broker/broker.hpp"

namespace starling::http {

// A worker busy for longer than this is reported as such (503) rather than blocking the HTTP thread.
inline constexpr std::chrono::milliseconds kWorkerTimeout{3000};

// fn(shard) on the given workers (all when `workers` is empty); the answers in worker order, or nothing
// when one did not come in time.
template <typename T>
std::optional<std::vector<T>> askWorkers(broker::Broker& broker, std::function<T(broker::Shard&)> fn,
                                         std::vector<unsigned> workers = {},
                                         std::chrono::milliseconds timeout = kWorkerTimeout) {
    if (workers.empty())
        for (unsigned w = 0; w < broker.workerCount(); ++w)
            workers.push_back(w);
    struct State {
        std::mutex mu;
        std::condition_variable done;
        std::vector<std::optional<T>> answers;
        size_t pending = 0;
    };
    auto state = std::make_shared<State>();
    state->answers.resize(workers.size());
    state->pending = workers.size();
    for (size_t i = 0; i < workers.size(); ++i) {
        unsigned w = workers[i];
        broker.post(w, [state, fn, i, &shard = broker.shard(w)] {
            T answer = fn(shard);
            std::lock_guard lock(state->mu);
            state->answers[i] = std::move(answer);
            if (--state->pending == 0) state->done.notify_one();
        });
    }
    std::unique_lock lock(state->mu);
    if (!state->done.wait_for(lock, timeout, [&] { return state->pending == 0; })) return std::nullopt;
    std::vector<T> out;
    out.reserve(workers.size());
    for (auto& a : state->answers)
        out.push_back(std::move(*a));
    return out;
}

}  // namespace starling::http
