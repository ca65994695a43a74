#include "auth/jwt_auth.hpp"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <strings.h>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "auth/filter_cover.hpp"
#include "protocol/topic.hpp"

namespace starling::auth {
namespace {

using nlohmann::json;

// Long enough for any sensible token, short enough to refuse junk before any crypto.
constexpr size_t kMaxTokenLength = 16 * 1024;
// RFC 7518 3.2: an HS256 key must be at least as long as the hash output.
constexpr size_t kMinSecretLength = 32;
constexpr int kMinRsaBits = 2048;

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
struct JwtFree {
    void operator()(jwt_t* j) const { jwt_free(j); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

bool readFile(const std::string& path, std::string& out, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = path + ": " + std::strerror(errno);
        return false;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

int refusePassphrase(char*, int, int, void*) {
    return -1;  // never prompt on the terminal for an encrypted private key
}

std::unique_ptr<BIO, BioFree> memoryBio(const std::string& data) {
    return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// A public key from PEM text holding a public key, a certificate or an unencrypted private key.
PkeyPtr readPublicKey(const std::string& pem) {
    PkeyPtr key(PEM_read_bio_PUBKEY(memoryBio(pem).get(), nullptr, nullptr, nullptr));
    if (!key) {
        std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(memoryBio(pem).get(), nullptr, nullptr, nullptr));
        if (cert) key.reset(X509_get_pubkey(cert.get()));
    }
    if (!key) key.reset(PEM_read_bio_PrivateKey(memoryBio(pem).get(), nullptr, refusePassphrase, nullptr));
    ERR_clear_error();  // the failed attempts leave errors on this thread's queue
    return key;
}

std::optional<std::string> publicPem(EVP_PKEY* key) {
    std::unique_ptr<BIO, BioFree> out(BIO_new(BIO_s_mem()));
    if (!out || PEM_write_bio_PUBKEY(out.get(), key) != 1) return std::nullopt;
    char* data = nullptr;
    long n = BIO_get_mem_data(out.get(), &data);
    return std::string(data, static_cast<size_t>(n));
}

bool isBase64Url(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

std::optional<std::string> base64UrlDecode(std::string_view in) {
    if (!isBase64Url(in) || in.size() % 4 == 1) return std::nullopt;
    std::string b64(in);
    std::replace(b64.begin(), b64.end(), '-', '+');
    std::replace(b64.begin(), b64.end(), '_', '/');
    size_t pad = (4 - b64.size() % 4) % 4;
    b64.append(pad, '=');
    std::string out(b64.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
    if (n < 0) return std::nullopt;
    out.resize(static_cast<size_t>(n) - pad);
    return out;
}

Unexpected<JwtError> fail(JwtError::Kind kind, std::string message) {
    return unexpected(JwtError{kind, std::move(message)});
}

// A claim holding a list of topic filters; nullopt when absent.
Result<std::optional<std::vector<std::string>>, JwtError> topicList(const json& claims, const std::string& name) {
    auto it = claims.find(name);
    if (it == claims.end()) return std::optional<std::vector<std::string>>();
    if (!it->is_array()) return fail(JwtError::kBadClaims, "claim '" + name + "' is not an array of topic filters");
    std::vector<std::string> filters;
    for (const auto& f : *it) {
        if (!f.is_string()) return fail(JwtError::kBadClaims, "claim '" + name + "' holds a non-string");
        const auto& s = f.get_ref<const std::string&>();
        if (s.starts_with("$share/") || !protocol::isValidTopicFilter(s))
            return fail(JwtError::kBadClaims, "claim '" + name + "' holds an invalid topic filter '" + s + "'");
        filters.push_back(s);
    }
    return std::optional<std::vector<std::string>>(std::move(filters));
}

std::chrono::system_clock::time_point fromEpochSeconds(double seconds) {
    using namespace std::chrono;
    // system_clock counts nanoseconds in 64 bits: beyond ~2262 means "never" for us.
    if (seconds > 9.0e9) return system_clock::time_point::max();
    return system_clock::time_point(duration_cast<system_clock::duration>(duration<double>(seconds)));
}

}  // namespace

// ---- TokenIdentity

bool TokenIdentity::canPublish(std::string_view topic) const {
    if (!publish) return true;
    return std::any_of(publish->begin(), publish->end(),
                       [&](const std::string& f) { return protocol::topicMatches(f, topic); });
}

bool TokenIdentity::canReceive(std::string_view topic) const {
    if (!subscribe) return true;
    return std::any_of(subscribe->begin(), subscribe->end(),
                       [&](const std::string& f) { return protocol::topicMatches(f, topic); });
}

bool TokenIdentity::canSubscribe(std::string_view filter) const {
    if (!subscribe) return true;
    if (auto shared = protocol::parseSharedSubscription(filter)) filter = shared->filter;
    return std::any_of(subscribe->begin(), subscribe->end(),
                       [&](const std::string& f) { return filterCovers(f, filter); });
}

// ---- JwtVerifier

Result<std::shared_ptr<const JwtVerifier>, std::string> JwtVerifier::create(const config::JwtSettings& settings,
                                                                            std::chrono::seconds leeway) {
    auto v = std::make_shared<JwtVerifier>();
    v->settings_ = settings;
    v->leeway_ = leeway;
    if (!settings.enabled()) return unexpected(std::string("JWT needs jwt_key_file or jwt_secret_file"));

    std::string error;
    if (!settings.secret_file.empty()) {
        if (!readFile(settings.secret_file, v->secret_, error)) return unexpected(error);
        while (!v->secret_.empty() && (v->secret_.back() == '\n' || v->secret_.back() == '\r'))
            v->secret_.pop_back();
        if (v->secret_.size() < kMinSecretLength) {
            return unexpected(settings.secret_file + ": an HS256 secret needs at least " +
                              std::to_string(kMinSecretLength) + " bytes, this one has " +
                              std::to_string(v->secret_.size()));
        }
    }
    if (!settings.key_file.empty()) {
        std::string pem;
        if (!readFile(settings.key_file, pem, error)) return unexpected(error);
        PkeyPtr key = readPublicKey(pem);
        if (!key) return unexpected(settings.key_file + ": no PEM public key, certificate or unencrypted private key");
        const int type = EVP_PKEY_get_base_id(key.get());
        if (type == EVP_PKEY_RSA) {
            if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
                return unexpected(settings.key_file + ": RSA key of " + std::to_string(EVP_PKEY_get_bits(key.get())) +
                                  " bits; RS256 needs at least " + std::to_string(kMinRsaBits));
            }
            v->key_alg_ = "RS256";
        } else if (type == EVP_PKEY_EC) {
            char group[64] = {};
            size_t len = 0;
            if (EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len) !=
                    1 ||
                std::string_view(group) != "prime256v1") {
                ERR_clear_error();
                return unexpected(settings.key_file + ": ES256 needs an EC key on P-256, this one is on '" +
                                  std::string(group) + "'");
            }
            v->key_alg_ = "ES256";
        } else {
            return unexpected(settings.key_file + ": neither an RSA nor an EC key");
        }
        auto out = publicPem(key.get());
        if (!out) {
            ERR_clear_error();
            return unexpected(settings.key_file + ": cannot re-encode the public key");
        }
        v->public_pem_ = std::move(*out);
    }

    if (settings.algorithms.empty()) {
        if (!v->secret_.empty()) v->algorithms_.push_back("HS256");
        if (!v->key_alg_.empty()) v->algorithms_.push_back(v->key_alg_);
    } else {
        for (const auto& a : settings.algorithms) {
            if (a == "HS256") {
                if (v->secret_.empty())
                    return unexpected(std::string("HS256 is allowed but jwt_secret_file is not set"));
            } else if (a == "RS256" || a == "ES256") {
                if (v->key_alg_ != a) {
                    return unexpected(a + " is allowed but " +
                                      (v->key_alg_.empty() ? std::string("jwt_key_file is not set")
                                                           : settings.key_file + " holds a key for " + v->key_alg_));
                }
            } else {
                return unexpected("unsupported JWT algorithm '" + a + "' (HS256, RS256, ES256)");
            }
            v->algorithms_.push_back(a);
        }
    }
    return std::shared_ptr<const JwtVerifier>(std::move(v));
}

bool JwtVerifier::looksLikeJwt(std::string_view password) {
    if (!password.starts_with("eyJ")) return false;  // base64url of `{"`
    size_t d1 = password.find('.');
    if (d1 == std::string_view::npos) return false;
    size_t d2 = password.find('.', d1 + 1);
    if (d2 == std::string_view::npos || password.find('.', d2 + 1) != std::string_view::npos) return false;
    return d2 > d1 + 1 && isBase64Url(password.substr(0, d1)) && isBase64Url(password.substr(d1 + 1, d2 - d1 - 1)) &&
           isBase64Url(password.substr(d2 + 1));
}

Result<TokenIdentity, JwtError> JwtVerifier::verify(std::string_view token,
                                                    std::chrono::system_clock::time_point now) const {
    if (token.size() > kMaxTokenLength) return fail(JwtError::kMalformed, "token longer than 16 KiB");
    if (!looksLikeJwt(token)) return fail(JwtError::kMalformed, "not a JWS compact serialisation");

    // The header decides which key libjwt gets (see the header comment on algorithm confusion).
    auto header_text = base64UrlDecode(token.substr(0, token.find('.')));
    if (!header_text) return fail(JwtError::kMalformed, "header is not base64url");
    json header = json::parse(*header_text, nullptr, false);
    if (header.is_discarded() || !header.is_object()) return fail(JwtError::kMalformed, "header is not a JSON object");
    auto alg_it = header.find("alg");
    if (alg_it == header.end() || !alg_it->is_string()) return fail(JwtError::kMalformed, "header has no 'alg'");
    const std::string alg = *alg_it;
    if (std::find(algorithms_.begin(), algorithms_.end(), alg) == algorithms_.end())
        return fail(JwtError::kAlgorithmNotAllowed, "algorithm '" + alg + "' is not allowed");
    // RFC 7515 4.1.11: extensions listed in `crit` must be understood; we understand none.
    if (header.contains("crit")) return fail(JwtError::kMalformed, "header has 'crit' extensions");
    // libjwt 1.10 refuses any other `typ` (RFC 9068 access tokens say "at+jwt"); say so rather than report a
    // bad signature.
    if (auto typ = header.find("typ"); typ != header.end()) {
        if (!typ->is_string() || strcasecmp(typ->get_ref<const std::string&>().c_str(), "JWT") != 0)
            return fail(JwtError::kMalformed, "header 'typ' is " + typ->dump() + "; only \"JWT\" is supported");
    }

    const std::string& key = alg == "HS256" ? secret_ : public_pem_;
    const jwt_alg_t expected = alg == "HS256" ? JWT_ALG_HS256 : alg == "RS256" ? JWT_ALG_RS256 : JWT_ALG_ES256;
    std::string token_z(token);
    jwt_t* raw = nullptr;
    int rc = jwt_decode(&raw, token_z.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                        static_cast<int>(key.size()));
    std::unique_ptr<jwt_t, JwtFree> decoded(raw);
    ERR_clear_error();  // a failed verification leaves OpenSSL errors on this worker's queue
    if (rc != 0 || !decoded) return fail(JwtError::kBadSignature, "signature does not verify (or token is corrupt)");
    if (jwt_get_alg(decoded.get()) != expected) return fail(JwtError::kBadSignature, "verified with another algorithm");

    char* grants = jwt_get_grants_json(decoded.get(), nullptr);
    if (!grants) return fail(JwtError::kMalformed, "no claims");
    json claims = json::parse(grants, nullptr, false);
    std::free(grants);
    if (claims.is_discarded() || !claims.is_object()) return fail(JwtError::kMalformed, "claims are not a JSON object");

    const double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
    const double leeway_s = static_cast<double>(leeway_.count());
    auto exp = claims.find("exp");
    if (exp == claims.end()) return fail(JwtError::kExpired, "token has no 'exp'");
    if (!exp->is_number()) return fail(JwtError::kBadClaims, "'exp' is not a number");
    const double exp_s = exp->get<double>();
    // RFC 7519 4.1.4: the current time must be before `exp`.
    if (now_s >= exp_s + leeway_s) return fail(JwtError::kExpired, "token expired");
    if (auto nbf = claims.find("nbf"); nbf != claims.end()) {
        if (!nbf->is_number()) return fail(JwtError::kBadClaims, "'nbf' is not a number");
        if (now_s + leeway_s < nbf->get<double>()) return fail(JwtError::kNotYetValid, "token not valid yet ('nbf')");
    }

    if (!settings_.issuer.empty()) {
        auto iss = claims.find("iss");
        if (iss == claims.end() || !iss->is_string() || iss->get_ref<const std::string&>() != settings_.issuer)
            return fail(JwtError::kWrongIssuer, "issuer is not '" + settings_.issuer + "'");
    }
    // RFC 7519 4.1.3: a token with an `aud` that does not name us must be refused, also when we expect none.
    if (auto aud = claims.find("aud"); aud != claims.end() || !settings_.audience.empty()) {
        if (settings_.audience.empty())
            return fail(JwtError::kWrongAudience, "token has an 'aud' but jwt_audience is not set");
        bool ours = false;
        if (aud != claims.end() && aud->is_string()) ours = aud->get_ref<const std::string&>() == settings_.audience;
        if (aud != claims.end() && aud->is_array()) {
            ours = std::any_of(aud->begin(), aud->end(), [&](const json& a) {
                return a.is_string() && a.get_ref<const std::string&>() == settings_.audience;
            });
        }
        if (!ours) return fail(JwtError::kWrongAudience, "audience does not include '" + settings_.audience + "'");
    }

    TokenIdentity id;
    auto user = claims.find(settings_.username_claim);
    if (user == claims.end() || !user->is_string() || user->get_ref<const std::string&>().empty() ||
        user->get_ref<const std::string&>().size() > 65535)
        return fail(JwtError::kNoUsername, "claim '" + settings_.username_claim + "' is not a user name");
    id.username = *user;
    id.expires_at = fromEpochSeconds(exp_s);

    auto pub = topicList(claims, settings_.publish_claim);
    if (!pub) return unexpected(pub.error());
    auto sub = topicList(claims, settings_.subscribe_claim);
    if (!sub) return unexpected(sub.error());
    id.publish = std::move(*pub);
    id.subscribe = std::move(*sub);
    return id;
}

}  // namespace starling::auth
