#pragma once
// One event loop (an Asio io_context behind a pimpl, so tools need no Asio headers). Clients and timers bound
// to a loop are used from the thread that runs it; post() is the only call that is safe from other threads.
#include <chrono>
#include <functional>
#include <memory>

namespace starling::client {

class EventLoop;

// A one-shot timer on a loop. Destroying or cancelling it drops the callback. Loop thread only.
class Timer {
  public:
    explicit Timer(EventLoop& loop);
    ~Timer();
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    void start(std::chrono::nanoseconds delay, std::function<void()> fn);
    // Fires at an absolute steady_clock time (for rate-limited senders that must not drift).
    void startAt(std::chrono::steady_clock::time_point when, std::function<void()> fn);
    void cancel();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

class EventLoop {
  public:
    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Runs until stop() or until no work is left.
    void run();
    void stop();
    bool stopped() const;
    // Thread-safe: runs `fn` on the loop thread.
    void post(std::function<void()> fn);

    // The underlying boost::asio::io_context (see client/asio_loop.hpp); for the library's own use.
    void* native();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace starling::client
