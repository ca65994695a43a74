#include "net/server.hpp"

#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <mutex>
#include <thread>

#include "broker/broker.hpp"
#include "broker/security.hpp"
#include "broker/shard.hpp"
#include "net/tcp_connection.hpp"
#include "net/tls.hpp"
#include "net/worker.hpp"
#include "store/store.hpp"

namespace starling::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::string endpointText(const tcp::endpoint& ep) {
    if (ep.address().is_v6()) return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
    return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

struct Server::Impl : broker::WorkerPoster {
    explicit Impl(const config::Config& c)
        : cfg(c), broker(c, c.worker_threads ? c.worker_threads : std::max(1u, std::thread::hardware_concurrency())) {
        broker.setPoster(this);
        for (unsigned i = 0; i < broker.workerCount(); ++i)
            workers.push_back(std::make_unique<Worker>(broker, i));
    }

    void post(unsigned worker, std::function<void()> fn) override { workers[worker]->post(std::move(fn)); }

    struct Acceptor {
        Worker* worker;
        std::unique_ptr<tcp::acceptor> acceptor;
        uint16_t port;
        std::atomic<int>* listener_connections;
        int listener_max;
        // The listener's TLS context, shared by its acceptors and replaced whole by a reload.
        std::shared_ptr<std::atomic<std::shared_ptr<const TlsContext>>> tls;
        size_t listener_index;
        bool websockets = false;
        // Accept errors (EMFILE at the open-file limit) repeat every retry: logged once per kAcceptWarnEvery.
        std::chrono::steady_clock::time_point last_accept_warning{};
        unsigned accept_failures = 0;  // since the last warning
    };
    static constexpr auto kAcceptWarnEvery = std::chrono::seconds(10);

    uint32_t maxPacket() const { return cfg.max_packet_size ? cfg.max_packet_size : 268'435'460u; }

    // Opens `ep` on every worker with SO_REUSEPORT, so the kernel spreads new connections across them.
    void bind(tcp::endpoint ep, int listener_max, std::shared_ptr<std::atomic<std::shared_ptr<const TlsContext>>> tls,
              size_t listener_index, bool websockets) {
        {
            // SO_REUSEPORT would let a second broker share the port silently: probe it without first.
            tcp::acceptor probe(workers[0]->io());
            probe.open(ep.protocol());
            probe.set_option(tcp::acceptor::reuse_address(true));  // TIME_WAIT is fine, a listener is not
            if (ep.address().is_v6()) probe.set_option(asio::ip::v6_only(!ep.address().is_unspecified()));
            probe.bind(ep);
            ep = probe.local_endpoint();
        }
        auto* count = &listener_counts.emplace_back(0);
        for (auto& w : workers) {
            auto a = std::make_unique<tcp::acceptor>(w->io());
            a->open(ep.protocol());
            a->set_option(tcp::acceptor::reuse_address(true));
            int one = 1;
            ::setsockopt(a->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
            if (ep.address().is_v6()) a->set_option(asio::ip::v6_only(!ep.address().is_unspecified()));
            a->bind(ep);
            a->listen(asio::socket_base::max_listen_connections);
            ep = a->local_endpoint();  // port 0: every worker binds the port the first one got
            acceptors.push_back(Acceptor{
                w.get(), std::move(a), ep.port(), count, listener_max, tls, listener_index, websockets, {}, 0});
        }
        auto ctx = tls ? tls->load() : nullptr;
        spdlog::info(
            "Opening {} {}listen socket on {}{}.", ep.address().is_v6() ? "ipv6" : "ipv4",
            websockets ? "websockets " : "", endpointText(ep),
            ctx ? (ctx->settings().require_certificate ? " (TLS, client certificate required)" : " (TLS)") : "");
        bound.push_back(BoundListener{ep.address().to_string(), ep.port()});
    }

    void accept(Acceptor& a) {
        a.acceptor->async_accept(a.worker->io().get_executor(), [this, &a](const boost::system::error_code& ec,
                                                                           Socket sock) {
            if (ec) {
                if (ec == asio::error::operation_aborted || stopping) return;
                ++a.accept_failures;
                auto now = std::chrono::steady_clock::now();
                if (now - a.last_accept_warning >= kAcceptWarnEvery) {
                    spdlog::warn(
                        "accept failed on port {}: {} ({} time(s) since the last warning; retrying every 100 "
                        "ms)",
                        a.port, ec.message(), a.accept_failures);
                    a.last_accept_warning = now;
                    a.accept_failures = 0;
                }
                // EMFILE and friends: try again shortly rather than spin.
                auto t = std::make_shared<asio::steady_timer>(a.worker->io(), std::chrono::milliseconds(100));
                t->async_wait([this, &a, t](const boost::system::error_code&) { accept(a); });
                return;
            }
            boost::system::error_code ignored;
            auto remote = sock.remote_endpoint(ignored);
            if (a.listener_max >= 0 && a.listener_connections->load() >= a.listener_max) {
                spdlog::warn("Connection from {} refused: listener max_connections reached.", endpointText(remote));
                a.worker->shard().stats().refused_busy.add();
                sock.close(ignored);
            } else {
                sock.set_option(tcp::no_delay(true), ignored);
                a.listener_connections->fetch_add(1);
                std::shared_ptr<TlsSession> tls;
                if (a.tls) tls = std::make_shared<TlsSession>(a.tls->load());
                open(*a.worker, std::move(sock), endpointText(remote), a.port, a.listener_index, {},
                     a.listener_connections, std::move(tls), a.websockets ? std::make_shared<WsSession>() : nullptr);
            }
            accept(a);
        });
    }

    void open(Worker& w, Socket sock, std::string address, uint16_t port, size_t listener_index,
              std::vector<uint8_t> initial, std::atomic<int>* listener_count, std::shared_ptr<TlsSession> tls,
              std::shared_ptr<WsSession> ws) {
        broker.connections.fetch_add(1, std::memory_order_relaxed);
        auto conn = std::make_shared<TcpConnection>(w, std::move(sock), std::move(address), maxPacket(), migrate,
                                                    listener_count, std::move(tls), std::move(ws));
        conn->id = broker.next_link_id.fetch_add(1);
        conn->listener_port = port;
        conn->listener_index = listener_index;
        conn->start(std::move(initial));
    }

    // A connection whose session another worker owns goes there (docs/architecture.md, Threads).
    void handOver(unsigned target, Handover h) {
        // The socket leaves this worker; count it again on arrival.
        broker.connections.fetch_sub(1, std::memory_order_relaxed);
        post(target, [this, target, h = std::move(h)]() mutable {
            Worker& tw = *workers[target];
            Socket s(tw.io(), h.v6 ? tcp::v6() : tcp::v4(), h.fd);
            open(tw, std::move(s), std::move(h.address), h.listener_port, h.listener_index, std::move(h.input),
                 h.listener_count, std::move(h.tls), std::move(h.ws));
        });
    }

    config::Config cfg;
    broker::Broker broker;
    const MigrateFn migrate = [this](unsigned target, Handover h) { handOver(target, std::move(h)); };
    std::vector<std::unique_ptr<Worker>> workers;
    std::deque<std::atomic<int>> listener_counts;
    std::vector<Acceptor> acceptors;
    std::vector<BoundListener> bound;

    // TLS listeners whose certificate files are watched: a renewed certificate (Let's Encrypt) is loaded
    // without a restart or a SIGHUP. Touched by worker 0's timer only (and reload(), which re-arms it).
    struct WatchedTls {
        config::TlsSettings settings;
        std::shared_ptr<std::atomic<std::shared_ptr<const TlsContext>>> slot;
        std::vector<int64_t> mtimes;
    };
    std::vector<WatchedTls> watched;
    std::unique_ptr<asio::steady_timer> watch_timer;

    void watchCertificates() {
        watch_timer->expires_after(std::chrono::seconds(2));
        watch_timer->async_wait([this](const boost::system::error_code& ec) {
            if (ec || stopping) return;
            for (auto& w : watched) {
                reloadIfChanged(w.settings, w.mtimes, "TLS certificate",
                                [&] { w.slot->store(std::make_shared<const TlsContext>(w.settings)); });
            }
            watchCertificates();
        });
    }
    std::atomic<bool> stopping{false};
    std::mutex stop_mu;
    bool stopped = false;
};

Server::Server(const config::Config& cfg) : impl_(std::make_unique<Impl>(cfg)) {}

Server::~Server() {
    stop();
    wait();
}

void Server::start() {
    auto& cfg = impl_->cfg;
    impl_->broker.setSecurity(std::make_shared<const broker::Security>(cfg, impl_->broker.allowAnonymous()));
    if (cfg.persistence) {
        auto sync = cfg.persistence_sync == "always" ? store::Sync::kAlways
                    : cfg.persistence_sync == "none" ? store::Sync::kNone
                                                     : store::Sync::kInterval;
        std::string notice;
        auto st = store::Store::open(cfg.persistence_location, sync, notice);
        // A damaged store never blocks start-up, but an operator must see it.
        if (!notice.empty()) spdlog::error("Persistence: {}.", notice);
        if (!st) throw std::runtime_error("cannot open the store in " + cfg.persistence_location);
        spdlog::info("Persistence: store in {} (persistence_sync {}).", cfg.persistence_location, cfg.persistence_sync);
        impl_->broker.setStore(std::move(st));
        broker::recoverFromStore(impl_->broker);
    }
    if (impl_->broker.failpoint_kill_before_handoff)
        spdlog::warn("STARLING_FAILPOINT=kill-before-handoff is set: this broker will kill itself (for tests only).");
    std::vector<config::Listener> listeners = cfg.listeners;
    if (listeners.empty()) {
        // No listener configured: local only, like Mosquitto 2.
        config::Listener l4;
        l4.address = "127.0.0.1";
        listeners.push_back(l4);
        config::Listener l6;
        l6.address = "::1";
        listeners.push_back(l6);
    }
    asio::io_context resolver_io;
    tcp::resolver resolver(resolver_io);
    for (auto& l : listeners) {
        std::vector<tcp::endpoint> eps;
        if (l.address.empty()) {
            eps.emplace_back(tcp::v6(), l.port);
        } else {
            boost::system::error_code ec;
            auto addr = asio::ip::make_address(l.address, ec);
            if (!ec) {
                eps.emplace_back(addr, l.port);
            } else {
                auto results = resolver.resolve(l.address, std::to_string(l.port), ec);
                if (ec)
                    throw std::runtime_error("cannot resolve listener address '" + l.address + "': " + ec.message());
                for (auto& r : results)
                    eps.push_back(r.endpoint());
            }
        }
        std::shared_ptr<std::atomic<std::shared_ptr<const TlsContext>>> tls;
        if (l.tls.enabled()) {
            try {
                tls = std::make_shared<std::atomic<std::shared_ptr<const TlsContext>>>(
                    std::make_shared<const TlsContext>(l.tls));
            } catch (const std::exception& e) {
                throw std::runtime_error(l.source + ": TLS listener on port " + std::to_string(l.port) + ": " +
                                         e.what());
            }
        }
        size_t listener_index = static_cast<size_t>(&l - listeners.data());
        if (tls) impl_->watched.push_back({l.tls, tls, certificateFileTimes(l.tls)});
        for (auto& ep : eps) {
            try {
                impl_->bind(ep, l.max_connections, tls, listener_index, l.protocol == "websockets");
            } catch (const boost::system::system_error& e) {
                if (l.address.empty() && ep.address().is_v6()) {
                    // No IPv6 on this host: fall back to IPv4 only.
                    impl_->bind(tcp::endpoint(tcp::v4(), l.port), l.max_connections, tls, listener_index,
                                l.protocol == "websockets");
                    continue;
                }
                if (l.address == "::1" && cfg.listeners.empty()) {
                    spdlog::warn("IPv6 loopback unavailable: {}", e.what());
                    continue;
                }
                throw std::runtime_error("cannot listen on " + endpointText(ep) + ": " + e.code().message());
            }
            // The default pair binds the same port twice; port 0 asks for one port for both.
            if (l.port == 0 && cfg.listeners.empty()) {
                for (auto& other : listeners)
                    other.port = impl_->bound.back().port;
            }
        }
    }
    for (auto& a : impl_->acceptors)
        impl_->accept(a);
    if (!impl_->watched.empty()) {
        impl_->watch_timer = std::make_unique<asio::steady_timer>(impl_->workers[0]->io());
        impl_->watchCertificates();
    }
    for (auto& w : impl_->workers)
        w->start();
    spdlog::info("starling running with {} worker thread{}.", impl_->workers.size(),
                 impl_->workers.size() == 1 ? "" : "s");
}

void Server::reload(const config::Config& fresh) {
    // Build everything first, swap only when all of it loaded.
    auto security = std::make_shared<const broker::Security>(fresh, impl_->broker.allowAnonymous());
    std::vector<std::pair<std::atomic<std::shared_ptr<const TlsContext>>*, std::shared_ptr<const TlsContext>>> tls;
    for (auto& a : impl_->acceptors) {
        if (!a.tls || a.listener_index >= fresh.listeners.size()) continue;
        const auto& settings = fresh.listeners[a.listener_index].tls;
        if (!settings.enabled()) continue;  // turning TLS off needs a restart
        if (!tls.empty() && tls.back().first == a.tls.get()) continue;
        tls.emplace_back(a.tls.get(), std::make_shared<const TlsContext>(settings));
    }
    impl_->broker.setSecurity(std::move(security));
    for (auto& [slot, ctx] : tls)
        slot->store(std::move(ctx));
}

std::vector<BoundListener> Server::boundListeners() const {
    return impl_->bound;
}

void Server::stop() {
    std::lock_guard lock(impl_->stop_mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->stopping = true;
    if (impl_->watch_timer) {
        asio::post(impl_->workers[0]->io(), [t = impl_->watch_timer.get()] { t->cancel(); });
    }
    for (auto& a : impl_->acceptors) {
        asio::post(a.worker->io(), [acc = a.acceptor.get()] {
            boost::system::error_code ignored;
            acc->close(ignored);
        });
    }
    for (auto& w : impl_->workers)
        w->stop();
}

broker::Broker& Server::broker() {
    return impl_->broker;
}

void Server::wait() {
    for (auto& w : impl_->workers)
        w->join();
}

}  // namespace starling::net
