#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include "client/transport.hpp"

namespace starling::client {
namespace {

using boost::asio::ip::tcp;
namespace ssl = boost::asio::ssl;

class TlsTransport final : public Transport {
  public:
    TlsTransport(boost::asio::io_context& io, std::unique_ptr<ssl::context> ctx, bool insecure, bool nodelay)
        : ctx_(std::move(ctx)), resolver_(io), stream_(io, *ctx_), insecure_(insecure), nodelay_(nodelay) {}

    void asyncConnect(const std::string& host, uint16_t port, ConnectHandler handler) override {
        SSL_set_tlsext_host_name(stream_.native_handle(), host.c_str());
        if (!insecure_) stream_.set_verify_callback(ssl::host_name_verification(host));
        resolver_.async_resolve(
            host, std::to_string(port),
            [this, handler = std::move(handler)](const boost::system::error_code& ec, tcp::resolver::results_type r) {
                if (ec) return handler(ec, "Lookup error.");
                boost::asio::async_connect(stream_.lowest_layer(), r,
                                           [this, handler](const boost::system::error_code& ec2, const tcp::endpoint&) {
                                               if (ec2) return handler(ec2, "");
                                               if (nodelay_) stream_.lowest_layer().set_option(tcp::no_delay(true));
                                               stream_.async_handshake(ssl::stream_base::client,
                                                                       [handler](const boost::system::error_code& ec3) {
                                                                           handler(ec3,
                                                                                   ec3 ? "A TLS error occurred." : "");
                                                                       });
                                           });
            });
    }

    void asyncReadSome(boost::asio::mutable_buffer buf, IoHandler handler) override {
        stream_.async_read_some(buf, std::move(handler));
    }

    void asyncWrite(const std::vector<boost::asio::const_buffer>& bufs, IoHandler handler) override {
        boost::asio::async_write(stream_, bufs, std::move(handler));
    }

    void close() override {
        boost::system::error_code ignored;
        resolver_.cancel();
        stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.lowest_layer().close(ignored);
    }

  private:
    std::unique_ptr<ssl::context> ctx_;
    tcp::resolver resolver_;
    ssl::stream<tcp::socket> stream_;
    bool insecure_;
    bool nodelay_;
};

}  // namespace

std::unique_ptr<Transport> makeTlsTransport(boost::asio::io_context& io, const TlsOptions& tls, bool nodelay,
                                            std::string& error) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    boost::system::error_code ec;
    if (tls.version == "tlsv1.3") {
        SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_3_VERSION);
    } else if (tls.version == "tlsv1.2") {
        SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    } else if (tls.version == "tlsv1.1") {
        SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_1_VERSION);
    } else if (!tls.version.empty()) {
        error = "Problem setting TLS options, check the options are valid.";
        return nullptr;
    }
    ctx->set_verify_mode(ssl::verify_peer);
    if (!tls.cafile.empty() && ctx->load_verify_file(tls.cafile, ec)) {
        error = "Problem setting TLS options: File not found.";
        return nullptr;
    }
    if (!tls.capath.empty() && ctx->add_verify_path(tls.capath, ec)) {
        error = "Problem setting TLS options: File not found.";
        return nullptr;
    }
    if ((tls.cafile.empty() && tls.capath.empty()) || tls.use_os_certs) ctx->set_default_verify_paths(ec);
    if (!tls.certfile.empty() && ctx->use_certificate_chain_file(tls.certfile, ec)) {
        error = "Problem setting TLS options: File not found.";
        return nullptr;
    }
    if (!tls.keyfile.empty() && ctx->use_private_key_file(tls.keyfile, ssl::context::pem, ec)) {
        error = "Problem setting TLS options: File not found.";
        return nullptr;
    }
    return std::make_unique<TlsTransport>(io, std::move(ctx), tls.insecure, nodelay);
}

}  // namespace starling::client
