#include "auth/config_check.hpp"

#include <openssl/asn1.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "auth/acl.hpp"
#include "auth/jwt_auth.hpp"
#include "auth/password_store.hpp"

namespace starling::auth {

const std::vector<DefaultCredential> kDefaultCredentials = {
    {"admin", "admin"},         {"admin", "password"}, {"admin", "public"},  {"admin", "123456"},
    {"guest", "guest"},         {"user", "user"},      {"user", "password"}, {"test", "test"},
    {"mosquitto", "mosquitto"}, {"mqtt", "mqtt"},      {"root", "root"},     {"root", "password"},
};

namespace {

using Severity = Finding::Severity;

std::string describe(const config::Listener& l) {
    return "listener on port " + std::to_string(l.port) +
           (l.address.empty() ? std::string(" (all addresses)") : " on " + l.address);
}

bool readableByOthers(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH);
}

bool holdsPrivateKey(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str().find("PRIVATE KEY-----") != std::string::npos;
}

// A JWK Set with a private key in it (RFC 7518 6.2.2, 6.3.2: `d` for EC and RSA; `k` of a symmetric key).
bool holdsPrivateJwk(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    auto set = nlohmann::json::parse(in, nullptr, false);
    if (set.is_discarded() || !set.is_object() || !set.contains("keys") || !set["keys"].is_array()) return false;
    return std::any_of(set["keys"].begin(), set["keys"].end(),
                       [](const nlohmann::json& k) { return k.is_object() && (k.contains("d") || k.contains("k")); });
}

std::string listNames(const std::vector<const HashNote*>& notes) {
    std::string out;
    size_t shown = 0;
    for (const HashNote* n : notes) {
        if (shown == 5) {
            out += " and " + std::to_string(notes.size() - shown) + " more";
            break;
        }
        out += (shown ? ", '" : "'") + n->username + "' (line " + std::to_string(n->line) + ")";
        ++shown;
    }
    return out;
}

class Checker {
  public:
    explicit Checker(const config::Config& cfg) : cfg_(cfg) {}

    std::vector<Finding> run() {
        anonymous_ = cfg_.allow_anonymous.value_or(cfg_.listeners.empty());
        for (const auto& l : cfg_.listeners) {
            tlsKeyFile(l.tls, l.source);
            certificate(l.tls, l.source);
            if (isLoopbackAddress(l.address)) continue;
            network_listener_ = true;
            listener(l);
        }
        passwordFile();
        aclFile();
        jwt();
        httpListener();
        return std::move(findings_);
    }

  private:
    void add(Severity s, std::string where, std::string message) {
        findings_.push_back({s, std::move(where), std::move(message)});
    }

    void listener(const config::Listener& l) {
        if (!l.tls.enabled()) {
            add(Severity::kWarning, l.source,
                describe(l) +
                    " is reachable from the network without TLS: passwords, tokens and messages travel in clear");
        }
        if (!anonymous_) return;
        // With a listener configured, anonymous access is on only through `allow_anonymous true`.
        if (cfg_.acl_file.empty()) {
            add(Severity::kError, l.source,
                describe(l) +
                    " lets anonymous clients publish and subscribe to every topic (allow_anonymous true and no "
                    "acl_file)");
        } else {
            add(Severity::kWarning, l.source,
                describe(l) +
                    " accepts anonymous clients (allow_anonymous true); the acl_file's anonymous rules "
                    "apply to them");
        }
    }

    // An expired certificate fails every handshake; one about to expire will soon (renewals that did not run).
    void certificate(const config::TlsSettings& tls, const std::string& source) {
        const std::string& path = tls.certfile;
        if (path.empty() || !reported_certs_.insert(path).second) return;
        FILE* f = std::fopen(path.c_str(), "r");
        if (!f) {
            add(Severity::kError, source, "TLS certificate " + path + " cannot be read: " + std::strerror(errno));
            return;
        }
        X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
        std::fclose(f);
        if (!cert) {
            add(Severity::kError, source, "TLS certificate " + path + " is not a PEM certificate");
            return;
        }
        int days = 0, seconds = 0;
        ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert));
        X509_free(cert);
        if (days < 0 || (days == 0 && seconds <= 0)) {
            add(Severity::kError, source, "TLS certificate " + path + " has expired");
        } else if (days < 14) {
            add(Severity::kWarning, source,
                "TLS certificate " + path + " expires in " + std::to_string(days) + " day(s)");
        }
    }

    // A TLS private key others can read lets them impersonate the broker. Several listeners may share one.
    void tlsKeyFile(const config::TlsSettings& tls, const std::string& source) {
        const std::string& key = tls.keyfile;
        if (key.empty() || !readableByOthers(key) || !reported_keys_.insert(key).second) return;
        add(Severity::kError, source, "TLS key file " + key + " is readable by every local user; chmod o-r");
    }

    void passwordFile() {
        const std::string& path = cfg_.password_file;
        if (path.empty()) return;
        auto store = PasswordStore::load(path);
        if (!store) {
            add(Severity::kError, path, "password file cannot be used: " + store.error());
            return;
        }
        if (readableByOthers(path)) {
            add(Severity::kWarning, path,
                "password file is readable by every local user (its hashes can be attacked offline); chmod o-r");
        }
        std::vector<const HashNote*> plaintext, weak;
        for (const auto& n : (*store)->notes())
            (n.kind == HashNote::kPlaintext ? plaintext : weak).push_back(&n);
        if (!plaintext.empty()) {
            add(Severity::kError, path,
                "password file has entries that are not password hashes (clear text or corrupt; these users cannot "
                "log in): " +
                    listNames(plaintext) + "; hash them with starling_passwd");
        }
        if (!weak.empty()) {
            add(Severity::kWarning, path,
                "password file has weak hashes (" + weak.front()->detail + (weak.size() > 1 ? ", ..." : "") +
                    "): " + listNames(weak) + "; re-hash with starling_passwd -H argon2id");
        }
        for (const auto& d : kDefaultCredentials) {
            if ((*store)->check(d.username, d.password) == PasswordStore::Check::kOk) {
                add(Severity::kError, path,
                    "user '" + std::string(d.username) + "' has the well-known password '" + std::string(d.password) +
                        "'");
            }
        }
    }

    void aclFile() {
        const std::string& path = cfg_.acl_file;
        if (path.empty()) return;
        auto acl = Acl::load(path);
        if (!acl) {
            add(Severity::kError, path, "acl file cannot be used: " + acl.error());
            return;
        }
        if (readableByOthers(path)) {
            add(Severity::kWarning, path, "acl file is readable by every local user; chmod o-r");
        }
        if ((*acl)->everyoneCanWriteEverything()) {
            add(Severity::kError, path,
                "acl file lets every client publish to every topic (a pattern granting write on #)");
        } else if (anonymous_ && network_listener_ && (*acl)->anonymousCanWriteEverything()) {
            add(Severity::kError, path,
                "acl file lets anonymous clients, who may connect from the network, publish to every topic");
        }
    }

    void jwt() {
        const config::JwtSettings& j = cfg_.jwt;
        if (!j.enabled()) return;
        auto verifier = JwtVerifier::create(j);
        if (!verifier) add(Severity::kError, "", "JWT settings cannot be used: " + verifier.error());
        if (!j.secret_file.empty() && readableByOthers(j.secret_file)) {
            add(Severity::kError, j.secret_file,
                "JWT secret file is readable by every local user, who can then mint tokens; chmod o-r");
        }
        if (!j.key_file.empty() && readableByOthers(j.key_file) && holdsPrivateKey(j.key_file)) {
            add(Severity::kError, j.key_file,
                "JWT key file holds a private key and is readable by every local user; keep only the public key "
                "there, or chmod o-r");
        }
        // A key set holds public keys and may be world-readable, unless someone exported private keys into it.
        if (!j.jwks_file.empty() && readableByOthers(j.jwks_file) && holdsPrivateJwk(j.jwks_file)) {
            add(Severity::kError, j.jwks_file,
                "JWT key set holds private key material ('d' or 'k') and is readable by every local user; publish "
                "only the public keys there, or chmod o-r");
        }
    }

    // /metrics, /api/v1 and the dashboard show client counts, traffic and every retained message.
    void httpListener() {
        if (!cfg_.http_listener) return;
        const config::HttpListener& h = *cfg_.http_listener;
        const std::string& token = cfg_.http_auth_token_file;
        tlsKeyFile(h.tls, h.source);
        certificate(h.tls, h.source);
        std::string what = "http_listener on port " + std::to_string(h.port) +
                           (h.address.empty() ? std::string(" (all addresses)") : " on " + h.address);
        if (!token.empty()) {
            std::ifstream in(token);
            if (!in) {
                add(Severity::kError, token,
                    "http_auth_token file cannot be read: " + std::string(std::strerror(errno)));
            } else if (readableByOthers(token)) {
                add(Severity::kWarning, token, "http_auth_token file is readable by every local user; chmod o-r");
            }
        }
        if (isLoopbackAddress(h.address)) return;
        if (token.empty() && cfg_.http_users.empty()) {
            add(Severity::kWarning, h.source,
                what +
                    " is reachable from the network without http_auth_token: anyone who can connect reads the "
                    "metrics, the statistics, the client list and every retained message");
        } else if (!h.tls.enabled()) {
            add(Severity::kWarning, h.source,
                what + " is plain HTTP: credentials and data travel in clear (give it certfile and keyfile)");
        }
    }

    const config::Config& cfg_;
    bool anonymous_ = false;
    bool network_listener_ = false;
    std::set<std::string> reported_keys_;
    std::set<std::string> reported_certs_;
    std::vector<Finding> findings_;
};

}  // namespace

std::string Finding::format() const {
    return std::string(severity == Severity::kError ? "error: " : "warning: ") + (where.empty() ? "" : where + ": ") +
           message;
}

std::vector<Finding> checkConfig(const config::Config& cfg) {
    return Checker(cfg).run();
}

bool hasErrors(const std::vector<Finding>& findings) {
    for (const auto& f : findings)
        if (f.severity == Severity::kError) return true;
    return false;
}

bool isLoopbackAddress(std::string_view address) {
    if (address == "localhost") return true;
    std::string a(address);
    if (auto pct = a.find('%'); pct != std::string::npos) a.resize(pct);  // fe80::1%eth0
    unsigned char v4[4], v6[16];
    if (inet_pton(AF_INET, a.c_str(), v4) == 1) return v4[0] == 127;
    if (inet_pton(AF_INET6, a.c_str(), v6) != 1) return false;  // a host name: assume it reaches the network
    static const unsigned char kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(v6, v6 + 16, kLoopback6)) return true;
    return std::equal(v6, v6 + 12, kMapped) && v6[12] == 127;
}

}  // namespace starling::auth
