#include "http/http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <type_traits>
#include <vector>

#include "auth/password_store.hpp"
#include "http/routes.hpp"
#include "net/tls.hpp"

namespace starling::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(30);  // per request read and per response write
constexpr size_t kMaxConnections = 64;                   // an admin endpoint, not a web server
constexpr uint32_t kHeaderLimit = 8 * 1024;
constexpr uint64_t kBodyLimit = 16 * 1024;  // GET needs none; a small one still gets its 405

std::string endpointText(const tcp::endpoint& ep) {
    if (ep.address().is_v6()) return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
    return ep.address().to_string() + ":" + std::to_string(ep.port());
}

// The http_auth_token file: one `TOKEN [admin|read]` per line (admin when the role is left out); blank lines
// and lines starting with # are skipped.
void readTokens(const std::string& path, Access& access) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read http_auth_token file " + path);
    std::string line;
    for (unsigned number = 1; std::getline(in, line); ++number) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
            line.pop_back();
        size_t start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line[start] == '#') continue;
        std::istringstream words(line.substr(start));
        std::string token, role, extra;
        words >> token >> role >> extra;
        std::string where = path + ":" + std::to_string(number);
        if (!extra.empty()) throw std::runtime_error(where + ": expected TOKEN [admin|read]");
        if (!role.empty() && role != "admin" && role != "read")
            throw std::runtime_error(where + ": role must be admin or read, got '" + role + "'");
        for (unsigned char c : token) {
            // It travels in an HTTP header: visible ASCII only (RFC 6750's b64token is narrower still).
            if (c < 0x21 || c > 0x7E)
                throw std::runtime_error(where + ": the token holds characters a header cannot carry");
        }
        access.tokens[token] = role == "read" ? Role::kRead : Role::kAdmin;
    }
    if (access.tokens.empty()) throw std::runtime_error("http_auth_token file " + path + " holds no token");
}

Access loadAccess(const config::Config& cfg) {
    Access access;
    if (!cfg.http_auth_token_file.empty()) readTokens(cfg.http_auth_token_file, access);
    if (!cfg.http_users.empty()) {
        auto store = auth::PasswordStore::load(cfg.password_file);
        if (!store) throw std::runtime_error("http_user: " + store.error());
        access.passwords = std::move(store.value());
        for (const auto& [user, role] : cfg.http_users) {
            if (!access.passwords->hasUser(user))
                spdlog::warn("http_user {} is not in the password file {}; it cannot log in.", user, cfg.password_file);
            access.users[user] = role == "admin" ? Role::kAdmin : Role::kRead;
        }
    }
    return access;
}

}  // namespace

struct HttpServer::Impl {
    Impl(broker::Broker& b, const config::Config& cfg) : listener(*cfg.http_listener), routes(b) {
        Access access = loadAccess(cfg);
        secured = !access.open();
        routes.setAccess(std::move(access));
        if (listener.tls.enabled()) {
            tls = loadTls(listener.tls);
            tls_files = net::certificateFileTimes(listener.tls);
        }
    }

    // The MQTT listeners' loader (files, versions, ciphers, client certificates), wrapped for Asio's ssl::stream,
    // which owns the reference it is given. Asio keeps its own callback object in the context's app data (and
    // deletes it); ours there points to `loaded` and serves only TLS-PSK, which http_listener does not take.
    static std::shared_ptr<asio::ssl::context> loadTls(const config::TlsSettings& settings) {
        net::TlsContext loaded(settings);
        SSL_CTX_set_app_data(loaded.native(), nullptr);
        SSL_CTX_up_ref(loaded.native());
        return std::make_shared<asio::ssl::context>(loaded.native());
    }

    // A renewed certificate (its files changed) is loaded for the next connections, as for MQTT listeners;
    // open connections keep the context they started with.
    void watchCertificate() {
        watch_timer.expires_after(std::chrono::seconds(2));
        watch_timer.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;
            net::reloadIfChanged(listener.tls, tls_files, "the HTTPS certificate",
                                 [this] { tls = loadTls(listener.tls); });
            watchCertificate();
        });
    }

    void bind(tcp::endpoint ep);
    void accept(tcp::acceptor& a);

    config::HttpListener listener;
    bool secured = false;
    std::shared_ptr<asio::ssl::context> tls;  // HTTPS when set; HTTP thread only
    std::vector<int64_t> tls_files;           // certificateFileTimes when `tls` was loaded
    size_t connections = 0;  // HTTP thread only; declared before io so sessions can count down as it goes
    Routes routes;           // HTTP thread only (reload posts to it)
    asio::io_context io{1};
    asio::steady_timer watch_timer{io};
    std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
    std::thread thread;
    bool stopped = false;
};

namespace {

// One HTTP/1.1 connection: read a request, answer it, and again while the client keeps it alive. `Stream` is
// beast::tcp_stream or, for HTTPS, beast::ssl_stream over one.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  public:
    static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

    Session(tcp::socket socket, Routes& routes, size_t& connections, std::shared_ptr<asio::ssl::context> tls = {})
        : tls_(std::move(tls)),
          stream_(makeStream(std::move(socket), tls_.get())),
          routes_(routes),
          connections_(connections) {
        ++connections_;
    }
    ~Session() { --connections_; }

    void start() {
        if constexpr (kTls) {
            beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
            stream_.async_handshake(
                asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
                    if (ec) {
                        spdlog::warn("HTTPS handshake with {} failed: {}", self->peer(), ec.message());
                        return self->closeSocket();
                    }
                    self->read();
                });
        } else {
            read();
        }
    }

  private:
    void read() {
        parser_.emplace();
        parser_->header_limit(kHeaderLimit);
        parser_->body_limit(kBodyLimit);
        beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
        bhttp::async_read(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
    }

    void onRead(beast::error_code ec) {
        if (ec) {
            // A closed connection, a timeout or a request we cannot parse: nothing worth an answer.
            close();
            return;
        }
        const auto& req = parser_->get();
        HttpRequest request{req.method_string(), req.target(), req[bhttp::field::authorization],
                            req[bhttp::field::origin], req[bhttp::field::host]};
        HttpResponse answer;
        try {
            answer = routes_.handle(request);
        } catch (const std::exception& e) {
            spdlog::error("HTTP {} {}: {}", std::string(req.method_string()), std::string(req.target()), e.what());
            answer = HttpResponse{500, "application/json", "{\"error\":\"internal error\"}", {}};
        }
        response_ = {};
        response_.version(req.version());
        response_.result(answer.status);
        response_.set(bhttp::field::server, "starling");
        response_.set(bhttp::field::content_type, answer.content_type);
        for (auto& [name, value] : answer.headers)
            response_.set(name, value);
        if constexpr (kTls) response_.set("Strict-Transport-Security", "max-age=31536000");
        response_.keep_alive(req.keep_alive());
        // HEAD: the headers GET would send, Content-Length included, and no body.
        response_.content_length(answer.body.size());
        if (req.method() != bhttp::verb::head) response_.body() = std::move(answer.body);
        beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
        bhttp::async_write(stream_, response_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
            if (ec || !self->response_.keep_alive()) return self->close();
            self->read();
        });
    }

    std::string peer() {
        beast::error_code ec;
        auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
        return ec ? std::string("?") : endpointText(ep);
    }

    void close() {
        if constexpr (kTls) {
            // close_notify first; a peer that does not answer within a few seconds is cut off.
            beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
            stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->closeSocket(); });
        } else {
            beast::error_code ignored;
            stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
            closeSocket();
        }
    }
    void closeSocket() { beast::get_lowest_layer(stream_).close(); }
    static Stream makeStream(tcp::socket socket, asio::ssl::context* tls) {
        if constexpr (kTls) {
            return Stream(std::move(socket), *tls);
        } else {
            return Stream(std::move(socket));
        }
    }

    std::shared_ptr<asio::ssl::context> tls_;  // HTTPS: kept while this connection uses it (a reload replaces it)
    Stream stream_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    bhttp::response<bhttp::string_body> response_;
    Routes& routes_;
    size_t& connections_;  // the server's count of open sessions
};

}  // namespace

void HttpServer::Impl::bind(tcp::endpoint ep) {
    auto a = std::make_unique<tcp::acceptor>(io);
    a->open(ep.protocol());
    a->set_option(tcp::acceptor::reuse_address(true));
    if (ep.address().is_v6()) a->set_option(asio::ip::v6_only(!ep.address().is_unspecified()));
    a->bind(ep);
    a->listen(asio::socket_base::max_listen_connections);
    ep = a->local_endpoint();
    spdlog::info("Opening {} listener on {} (metrics, admin API, dashboard{}).", tls ? "HTTPS" : "HTTP",
                 endpointText(ep), secured ? "; credentials required" : "; read-only without credentials");
    acceptors.push_back(std::move(a));
}

void HttpServer::Impl::accept(tcp::acceptor& a) {
    a.async_accept([this, &a](const boost::system::error_code& ec, tcp::socket socket) {
        if (ec) {
            if (ec == asio::error::operation_aborted) return;
            spdlog::warn("HTTP accept failed: {}", ec.message());
            // EMFILE and friends: try again shortly rather than spin.
            auto t = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(100));
            t->async_wait([this, &a, t](const boost::system::error_code&) { accept(a); });
            return;
        }
        if (connections >= kMaxConnections) {
            boost::system::error_code ignored;
            socket.close(ignored);
        } else {
            if (tls) {
                using TlsStream = beast::ssl_stream<beast::tcp_stream>;
                std::make_shared<Session<TlsStream>>(std::move(socket), routes, connections, tls)->start();
            } else {
                std::make_shared<Session<beast::tcp_stream>>(std::move(socket), routes, connections)->start();
            }
        }
        accept(a);
    });
}

HttpServer::HttpServer(broker::Broker& broker, const config::Config& cfg)
    : impl_(std::make_unique<Impl>(broker, cfg)) {}

HttpServer::~HttpServer() {
    stop();
}

void HttpServer::start() {
    const auto& l = impl_->listener;
    std::vector<tcp::endpoint> eps;
    boost::system::error_code ec;
    if (l.address.empty()) {
        eps.emplace_back(tcp::v6(), l.port);
    } else if (auto addr = asio::ip::make_address(l.address, ec); !ec) {
        eps.emplace_back(addr, l.port);
    } else {
        tcp::resolver resolver(impl_->io);
        auto results = resolver.resolve(l.address, std::to_string(l.port), ec);
        if (ec) throw std::runtime_error("cannot resolve http_listener address '" + l.address + "': " + ec.message());
        for (auto& r : results)
            eps.push_back(r.endpoint());
    }
    for (auto& ep : eps) {
        try {
            impl_->bind(ep);
        } catch (const boost::system::system_error& e) {
            if (l.address.empty()) {
                // No IPv6 on this host: every IPv4 address instead.
                try {
                    impl_->bind(tcp::endpoint(tcp::v4(), l.port));
                    continue;
                } catch (const boost::system::system_error&) {
                }
            }
            throw std::runtime_error(l.source + ": cannot open http_listener on " + endpointText(ep) + ": " +
                                     e.code().message());
        }
    }
    for (auto& a : impl_->acceptors)
        impl_->accept(*a);
    if (impl_->tls) impl_->watchCertificate();
    impl_->thread = std::thread([impl = impl_.get()] {
        for (;;) {
            try {
                impl->io.run();
                return;
            } catch (const std::exception& e) {
                spdlog::error("HTTP server: {}", e.what());
            }
        }
    });
}

void HttpServer::reload(const config::Config& fresh) {
    if (!fresh.http_listener) return;  // turning HTTP off (or on) needs a restart
    Access access = loadAccess(fresh);
    asio::post(impl_->io, [impl = impl_.get(), access = std::move(access)]() mutable {
        impl->routes.setAccess(std::move(access));
    });
}

void HttpServer::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
    impl_->acceptors.clear();
}

}  // namespace starling::http
