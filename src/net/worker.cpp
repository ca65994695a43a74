#include "net/worker.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <csignal>
#include <mutex>
#include <thread>

#include "net/tcp_connection.hpp"

namespace starling::net {

Worker::Worker(broker::Broker& broker, unsigned index)
    : guard_(boost::asio::make_work_guard(io_)),
      tick_(io_),
      broker_(broker),
      shard_(broker.shard(index)),
      index_(index) {}

void Worker::post(std::function<void()> fn) {
    boost::asio::post(io_, [this, fn = std::move(fn)] {
        fn();
        endTurn();
    });
}

void Worker::endTurn() {
    shard_.flush();
    // Writing may queue more (never re-entrantly here), so swap first.
    while (!dirty_.empty()) {
        flushing_.swap(dirty_);
        for (auto& c : flushing_)
            c->writeNow();
        flushing_.clear();
    }
    if (shard_.killDue()) {
        // The failpoint (test only): the acknowledgements are on their way to the kernel; die before anything
        // else happens, without the chance to clean up that a crash does not give either.
        static std::once_flag once;
        std::call_once(once, [] {
            std::thread([] {
                std::this_thread::sleep_for(std::chrono::milliseconds(200));
                std::raise(SIGKILL);
            }).detach();
        });
    }
}

void Worker::scheduleTick() {
    tick_.expires_after(std::chrono::milliseconds(500));
    tick_.async_wait([this](const boost::system::error_code& ec) {
        // A tick that had already fired when stop() ran must not arm another one (the loop would never end).
        if (ec || stopping_) return;
        // How late the timer ran: the time this worker's queue of ready work took to get to it.
        auto late = std::chrono::steady_clock::now() - tick_.expiry();
        shard_.stats().loop_lag_us.set(static_cast<uint64_t>(
            std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(late).count())));
        auto now =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        shard_.tick(static_cast<uint64_t>(now));
        endTurn();
        scheduleTick();
    });
}

void Worker::start() {
    scheduleTick();
    thread_ = std::thread([this] { io_.run(); });
}

void Worker::stop() {
    boost::asio::post(io_, [this] {
        stopping_ = true;
        tick_.cancel();
        shard_.shutdown();
        endTurn();
        guard_.reset();
    });
}

void Worker::join() {
    if (thread_.joinable()) thread_.join();
}

}  // namespace starling::net
