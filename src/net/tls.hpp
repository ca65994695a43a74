#pragma once
// TLS for client connections on OpenSSL 3 with memory BIOs: the socket stays a plain Asio TCP socket and
// the TLS state is an SSL object we feed and drain. Unlike asio::ssl::stream, the state is not bound to an
// io_context, so a connection can still move to the worker that owns its session after CONNECT (the file
// descriptor and this object move together; docs/architecture.md).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace starling::net {

// One listener's TLS configuration: certificate, key, CA, verification mode, versions and ciphers.
// Immutable once built; shared by every connection of the listener.
// Modification times of the settings' certificate, key, CA and CRL files (0 for one that is unset or missing):
// a change means a renewed certificate to load.
std::vector<int64_t> certificateFileTimes(const config::TlsSettings& settings);
// Certificate renewal (Let's Encrypt): when the settings' files changed since `times` (which then take the new
// times), calls `load`, which builds and installs the new context, and logs "Reloaded <what> <certfile>". When
// `load` throws (files half written during a renewal) the old context stays and a warning says why; the next
// change tries again.
void reloadIfChanged(const config::TlsSettings& settings, std::vector<int64_t>& times, std::string_view what,
                     const std::function<void()>& load);

class TlsContext {
  public:
    // Throws std::runtime_error naming the file and OpenSSL's reason when something cannot be loaded.
    explicit TlsContext(const config::TlsSettings& settings);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    const config::TlsSettings& settings() const { return settings_; }
    SSL_CTX* native() const { return ctx_; }
    // TLS-PSK: the key of an identity from the psk_file; null when unknown.
    const std::string* pskKey(std::string_view identity) const;

  private:
    config::TlsSettings settings_;
    SSL_CTX* ctx_ = nullptr;
    std::vector<std::pair<std::string, std::string>> psk_keys_;  // identity, raw key
};

// The server side of one TLS connection.
class TlsSession {
  public:
    explicit TlsSession(std::shared_ptr<const TlsContext> ctx);
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    enum class Status { kOk, kClosed, kError };
    // Takes ciphertext from the socket; appends the plaintext it yields to buf[end...] (growing buf).
    Status feed(const uint8_t* data, size_t n, std::vector<uint8_t>& buf, size_t& end);
    // Encrypts plaintext; the ciphertext waits in output().
    bool write(const uint8_t* data, size_t n);
    // Moves the ciphertext waiting to be sent into `out` (replacing its content).
    void takeOutput(std::vector<uint8_t>& out);
    bool hasOutput() const;

    bool handshakeDone() const { return handshake_done_; }
    // The client certificate's common name (or, on a PSK listener, the PSK identity) and its subject in
    // RFC 2253 form; empty without one.
    std::string peerCommonName() const;
    std::string peerSubject() const;
    const std::string& error() const { return error_; }
    const TlsContext& context() const { return *ctx_; }

  private:
    std::shared_ptr<const TlsContext> ctx_;
    SSL* ssl_ = nullptr;
    BIO* rbio_ = nullptr;  // ciphertext in (owned by ssl_)
    BIO* wbio_ = nullptr;  // ciphertext out (owned by ssl_)
    bool handshake_done_ = false;
    std::string error_;

  public:
    std::string psk_identity;  // set by the PSK callback (TLS 1.3 does not keep it for SSL_get_psk_identity)
};

}  // namespace starling::net
