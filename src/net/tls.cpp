#include "net/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace starling::net {

namespace {

// OpenSSL's error queue as one line, emptied.
std::string opensslErrors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out.empty() ? "unknown TLS error" : out;
}

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + opensslErrors());
}

// The psk_file: "identity:hexkey" per line, as Mosquitto reads it.
std::vector<std::pair<std::string, std::string>> loadPskFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("psk_file " + path + ": cannot be read");
    std::vector<std::pair<std::string, std::string>> keys;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        size_t colon = line.find(':');
        std::string hex = colon == std::string::npos ? "" : line.substr(colon + 1);
        std::string key;
        bool ok = colon != std::string::npos && colon > 0 && !hex.empty() && hex.size() % 2 == 0;
        for (size_t i = 0; ok && i < hex.size(); i += 2) {
            int hi = OPENSSL_hexchar2int(static_cast<unsigned char>(hex[i]));
            int lo = OPENSSL_hexchar2int(static_cast<unsigned char>(hex[i + 1]));
            ok = hi >= 0 && lo >= 0;
            key.push_back(static_cast<char>(hi * 16 + lo));
        }
        if (!ok || key.size() > PSK_MAX_PSK_LEN)
            throw std::runtime_error("psk_file " + path + ":" + std::to_string(number) + ": expected identity:hexkey");
        keys.emplace_back(line.substr(0, colon), std::move(key));
    }
    return keys;
}

unsigned int pskServerCallback(SSL* ssl, const char* identity, unsigned char* psk, unsigned int max_len) {
    auto* self = static_cast<const TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
    const std::string* key = identity ? self->pskKey(identity) : nullptr;
    if (!key || key->size() > max_len) return 0;  // unknown identity: the handshake fails
    std::memcpy(psk, key->data(), key->size());
    if (auto* session = static_cast<TlsSession*>(SSL_get_app_data(ssl))) session->psk_identity = identity;
    return static_cast<unsigned int>(key->size());
}

}  // namespace

const std::string* TlsContext::pskKey(std::string_view identity) const {
    for (const auto& [id, key] : psk_keys_)
        if (id == identity) return &key;
    return nullptr;
}

std::vector<int64_t> certificateFileTimes(const config::TlsSettings& t) {
    std::vector<int64_t> out;
    for (const std::string* f : {&t.certfile, &t.keyfile, &t.cafile, &t.crlfile}) {
        struct stat st {};
        out.push_back(!f->empty() && ::stat(f->c_str(), &st) == 0
                          ? int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec
                          : 0);
    }
    return out;
}

void reloadIfChanged(const config::TlsSettings& settings, std::vector<int64_t>& times, std::string_view what,
                     const std::function<void()>& load) {
    auto now = certificateFileTimes(settings);
    if (now == times) return;
    times = std::move(now);
    try {
        load();
        spdlog::info("Reloaded {} {} (the file changed).", what, settings.certfile);
    } catch (const std::exception& e) {
        spdlog::warn("{} {} changed but cannot be loaded, keeping the old one: {}", what, settings.certfile, e.what());
    }
}

TlsContext::TlsContext(const config::TlsSettings& s) : settings_(s) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (!ctx_) fail("cannot create a TLS context");
    SSL_CTX_set_app_data(ctx_, this);
    if (!s.psk_hint.empty()) {
        psk_keys_ = loadPskFile(s.psk_file);
        SSL_CTX_use_psk_identity_hint(ctx_, s.psk_hint.c_str());
        SSL_CTX_set_psk_server_callback(ctx_, pskServerCallback);
    }
    SSL_CTX_set_min_proto_version(ctx_, s.tls_version == "tlsv1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx_, SSL_MODE_RELEASE_BUFFERS);
    if (!s.certfile.empty()) {
        if (SSL_CTX_use_certificate_chain_file(ctx_, s.certfile.c_str()) != 1) fail("certfile " + s.certfile);
        if (SSL_CTX_use_PrivateKey_file(ctx_, s.keyfile.c_str(), SSL_FILETYPE_PEM) != 1) fail("keyfile " + s.keyfile);
        if (SSL_CTX_check_private_key(ctx_) != 1)
            fail("keyfile " + s.keyfile + " does not match certfile " + s.certfile);
    }
    if (!s.ciphers.empty() && SSL_CTX_set_cipher_list(ctx_, s.ciphers.c_str()) != 1) fail("ciphers " + s.ciphers);
    if (!s.ciphers_tls13.empty() && SSL_CTX_set_ciphersuites(ctx_, s.ciphers_tls13.c_str()) != 1)
        fail("ciphers_tls1.3 " + s.ciphers_tls13);
    if (!s.cafile.empty() || !s.capath.empty()) {
        if (SSL_CTX_load_verify_locations(ctx_, s.cafile.empty() ? nullptr : s.cafile.c_str(),
                                          s.capath.empty() ? nullptr : s.capath.c_str()) != 1)
            fail("cafile/capath " + s.cafile + s.capath);
        int mode = SSL_VERIFY_PEER;
        if (s.require_certificate) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx_, mode, nullptr);
        if (!s.crlfile.empty()) {
            X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
            X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
            if (!lookup || X509_load_crl_file(lookup, s.crlfile.c_str(), X509_FILETYPE_PEM) < 1)
                fail("crlfile " + s.crlfile);
            X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
        }
    }
    ERR_clear_error();
}

TlsContext::~TlsContext() {
    SSL_CTX_free(ctx_);
}

TlsSession::TlsSession(std::shared_ptr<const TlsContext> ctx) : ctx_(std::move(ctx)) {
    ssl_ = SSL_new(ctx_->native());
    rbio_ = BIO_new(BIO_s_mem());
    wbio_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rbio_, -1);  // an empty input BIO means "want more", not end of stream
    SSL_set_bio(ssl_, rbio_, wbio_);
    SSL_set_accept_state(ssl_);
    SSL_set_app_data(ssl_, this);
}

TlsSession::~TlsSession() {
    SSL_free(ssl_);  // frees both BIOs
}

TlsSession::Status TlsSession::feed(const uint8_t* data, size_t n, std::vector<uint8_t>& buf, size_t& end) {
    if (n && BIO_write(rbio_, data, static_cast<int>(n)) != static_cast<int>(n)) {
        error_ = "cannot buffer TLS input";
        return Status::kError;
    }
    if (!handshake_done_) {
        int r = SSL_do_handshake(ssl_);
        if (r != 1) {
            int e = SSL_get_error(ssl_, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Status::kOk;
            error_ = opensslErrors();
            if (long v = SSL_get_verify_result(ssl_); v != X509_V_OK)
                error_ += std::string(" (certificate: ") + X509_verify_cert_error_string(v) + ")";
            return Status::kError;
        }
        handshake_done_ = true;
    }
    for (;;) {
        if (buf.size() - end < 16 * 1024) buf.resize(end + 32 * 1024);
        int r = SSL_read(ssl_, buf.data() + end, static_cast<int>(buf.size() - end));
        if (r > 0) {
            end += static_cast<size_t>(r);
            continue;
        }
        int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Status::kOk;
        if (e == SSL_ERROR_ZERO_RETURN) return Status::kClosed;  // close_notify
        error_ = opensslErrors();
        return Status::kError;
    }
}

bool TlsSession::write(const uint8_t* data, size_t n) {
    while (n) {
        int r = SSL_write(ssl_, data, static_cast<int>(std::min<size_t>(n, 1 << 30)));
        if (r <= 0) {
            error_ = opensslErrors();
            return false;
        }
        data += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

bool TlsSession::hasOutput() const {
    return BIO_ctrl_pending(wbio_) > 0;
}

void TlsSession::takeOutput(std::vector<uint8_t>& out) {
    size_t pending = BIO_ctrl_pending(wbio_);
    out.resize(pending);
    if (pending) BIO_read(wbio_, out.data(), static_cast<int>(pending));
}

std::string TlsSession::peerCommonName() const {
    if (!psk_identity.empty()) return psk_identity;
    X509* cert = SSL_get0_peer_certificate(ssl_);
    if (!cert) return {};
    char cn[256] = {};
    int len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    return len > 0 ? std::string(cn, static_cast<size_t>(len)) : std::string();
}

std::string TlsSession::peerSubject() const {
    X509* cert = SSL_get0_peer_certificate(ssl_);
    if (!cert) return {};
    BIO* mem = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long len = BIO_get_mem_data(mem, &data);
    std::string out(data, static_cast<size_t>(len));
    BIO_free(mem);
    return out;
}

}  // namespace starling::net
