#pragma once
// Internal transport seam: an ordered byte stream (TCP now, TLS, WebSocket later). Owned by one Client and
// used only on its loop's thread. Includes Asio, so only the library's .cpp files include it.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include "client/tls_options.hpp"

namespace starling::client {

class Transport {
  public:
    using IoHandler = std::function<void(const boost::system::error_code&, size_t)>;
    using ConnectHandler = std::function<void(const boost::system::error_code&, const std::string& what)>;

    virtual ~Transport() = default;
    // Resolves, connects (and handshakes); `what` names the failed step for messages ("Lookup error.").
    virtual void asyncConnect(const std::string& host, uint16_t port, ConnectHandler handler) = 0;
    virtual void asyncReadSome(boost::asio::mutable_buffer buf, IoHandler handler) = 0;
    // Writes all of `bufs` (a gather write: header, shared topic, shared payload...).
    virtual void asyncWrite(const std::vector<boost::asio::const_buffer>& bufs, IoHandler handler) = 0;
    virtual void close() = 0;
};

std::unique_ptr<Transport> makeTcpTransport(boost::asio::io_context& io, bool nodelay);
// Fails (nullptr, `error` set) when certificates or keys cannot be loaded.
std::unique_ptr<Transport> makeTlsTransport(boost::asio::io_context& io, const TlsOptions& tls, bool nodelay,
                                            std::string& error);

}  // namespace starling::client
