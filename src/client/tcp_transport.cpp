#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "client/transport.hpp"

namespace starling::client {
namespace {

using boost::asio::ip::tcp;

class TcpTransport final : public Transport {
  public:
    TcpTransport(boost::asio::io_context& io, bool nodelay) : resolver_(io), socket_(io), nodelay_(nodelay) {}

    void asyncConnect(const std::string& host, uint16_t port, ConnectHandler handler) override {
        resolver_.async_resolve(
            host, std::to_string(port),
            [this, handler = std::move(handler)](const boost::system::error_code& ec, tcp::resolver::results_type r) {
                if (ec) return handler(ec, "Lookup error.");
                boost::asio::async_connect(socket_, r,
                                           [this, handler](const boost::system::error_code& ec2, const tcp::endpoint&) {
                                               if (!ec2 && nodelay_) socket_.set_option(tcp::no_delay(true));
                                               handler(ec2, "");
                                           });
            });
    }

    void asyncReadSome(boost::asio::mutable_buffer buf, IoHandler handler) override {
        socket_.async_read_some(buf, std::move(handler));
    }

    void asyncWrite(const std::vector<boost::asio::const_buffer>& bufs, IoHandler handler) override {
        boost::asio::async_write(socket_, bufs, std::move(handler));
    }

    void close() override {
        boost::system::error_code ignored;
        resolver_.cancel();
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

  private:
    tcp::resolver resolver_;
    tcp::socket socket_;
    bool nodelay_;
};

}  // namespace

std::unique_ptr<Transport> makeTcpTransport(boost::asio::io_context& io, bool nodelay) {
    return std::make_unique<TcpTransport>(io, nodelay);
}

}  // namespace starling::client
