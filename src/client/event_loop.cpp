#include "client/event_loop.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "client/asio_loop.hpp"

namespace starling::client {

struct EventLoop::Impl {
    boost::asio::io_context io{1};
};

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {}
EventLoop::~EventLoop() = default;

void EventLoop::run() {
    auto guard = boost::asio::make_work_guard(impl_->io);
    impl_->io.run();
}
void EventLoop::stop() {
    impl_->io.stop();
}
bool EventLoop::stopped() const {
    return impl_->io.stopped();
}
void EventLoop::post(std::function<void()> fn) {
    boost::asio::post(impl_->io, std::move(fn));
}
void* EventLoop::native() {
    return &impl_->io;
}

struct Timer::Impl {
    explicit Impl(EventLoop& loop) : timer(ioContext(loop)) {}
    boost::asio::steady_timer timer;
    uint64_t generation = 0;  // a cancelled or restarted wait must not run the new callback
};

Timer::Timer(EventLoop& loop) : impl_(std::make_unique<Impl>(loop)) {}
Timer::~Timer() {
    cancel();
}

void Timer::start(std::chrono::nanoseconds delay, std::function<void()> fn) {
    startAt(std::chrono::steady_clock::now() + delay, std::move(fn));
}

void Timer::startAt(std::chrono::steady_clock::time_point when, std::function<void()> fn) {
    impl_->timer.expires_at(when);
    uint64_t gen = ++impl_->generation;
    Impl* impl = impl_.get();
    impl_->timer.async_wait([impl, gen, fn = std::move(fn)](const boost::system::error_code& ec) {
        if (ec || impl->generation != gen) return;
        fn();
    });
}

void Timer::cancel() {
    ++impl_->generation;
    impl_->timer.cancel();
}

}  // namespace starling::client
