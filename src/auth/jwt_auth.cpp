#include "auth/jwt_auth.hpp"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
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
struct BnFree {
    void operator()(BIGNUM* b) const { BN_free(b); }
};
struct ParamBldFree {
    void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
    void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

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

// ---- JSON Web Key Sets (RFC 7517, with the RSA and EC parameters of RFC 7518 6.2 and 6.3)

// The last OpenSSL error, for a message, and an empty queue.
std::string opensslError() {
    const char* reason = ERR_reason_error_string(ERR_peek_last_error());
    std::string out = reason ? reason : "unknown error";
    ERR_clear_error();
    return out;
}

// A public key from OpenSSL parameters (EVP_PKEY_fromdata), checked: the modulus and exponent of an RSA key, the
// point of an EC key on its curve.
PkeyPtr keyFromParams(const char* type, OSSL_PARAM_BLD* bld, std::string& error) {
    std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* raw = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 || !raw) {
        error = opensslError();
        return nullptr;
    }
    PkeyPtr key(raw);
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
    if (!check || EVP_PKEY_public_check(check.get()) != 1) {
        error = opensslError();
        return nullptr;
    }
    return key;
}

// A base64url member of a JWK, decoded; nullopt with `error` set when missing or invalid.
std::optional<std::string> jwkBytes(const json& jwk, const char* name, std::string& error) {
    auto it = jwk.find(name);
    if (it == jwk.end() || !it->is_string()) {
        error = std::string("'") + name + "' is missing or not a string";
        return std::nullopt;
    }
    const auto& text = it->get_ref<const std::string&>();
    auto bytes = base64UrlDecode(text);
    if (!bytes || bytes->empty()) {
        error = std::string("'") + name + "' is not base64url";
        return std::nullopt;
    }
    return bytes;
}

BnPtr bignum(const std::string& big_endian) {
    return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(big_endian.data()),
                           static_cast<int>(big_endian.size()), nullptr));
}

// What one JWK is: a usable key, one to leave out (with the reason), or an error in the file.
struct JwkOutcome {
    enum { kUsable, kIgnored, kInvalid } status = kInvalid;
    std::string reason;  // kIgnored, kInvalid
    PkeyPtr key;         // kUsable
    std::string alg;     // kUsable: "RS256" or "ES256"
};

JwkOutcome ignored(std::string reason) {
    JwkOutcome o;
    o.status = JwkOutcome::kIgnored;
    o.reason = std::move(reason);
    return o;
}

JwkOutcome invalid(std::string reason) {
    JwkOutcome o;
    o.status = JwkOutcome::kInvalid;
    o.reason = std::move(reason);
    return o;
}

JwkOutcome rsaJwk(const json& jwk) {
    std::string error;
    auto n = jwkBytes(jwk, "n", error);
    if (!n) return invalid("RSA key: " + error);
    auto e = jwkBytes(jwk, "e", error);
    if (!e) return invalid("RSA key: " + error);
    BnPtr bn_n = bignum(*n), bn_e = bignum(*e);
    if (!bn_n || !bn_e) return invalid("RSA key: out of memory");
    // Checked before any key is built: a weak key is left out, not an error (the provider may still list it).
    const int bits = BN_num_bits(bn_n.get());
    if (bits < kMinRsaBits) {
        return ignored("RSA key of " + std::to_string(bits) + " bits; RS256 needs at least " +
                       std::to_string(kMinRsaBits));
    }
    if (!BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get()) || BN_num_bits(bn_e.get()) > 256)
        return invalid("RSA key: 'e' is not a valid public exponent");
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
        return invalid("RSA key: " + opensslError());
    PkeyPtr key = keyFromParams("RSA", bld.get(), error);
    if (!key) return invalid("RSA key is not valid: " + error);
    JwkOutcome o;
    o.status = JwkOutcome::kUsable;
    o.key = std::move(key);
    o.alg = "RS256";
    return o;
}

JwkOutcome ecJwk(const json& jwk) {
    auto crv = jwk.find("crv");
    if (crv == jwk.end() || !crv->is_string()) return invalid("EC key: 'crv' is missing or not a string");
    if (crv->get_ref<const std::string&>() != "P-256")
        return ignored("EC key on curve " + crv->dump() + "; ES256 needs P-256");
    std::string error;
    auto x = jwkBytes(jwk, "x", error);
    if (!x) return invalid("EC key: " + error);
    auto y = jwkBytes(jwk, "y", error);
    if (!y) return invalid("EC key: " + error);
    // RFC 7518 6.2.1.2 and 6.2.1.3: the full 32 bytes of each coordinate, leading zeros included.
    if (x->size() != 32 || y->size() != 32) return invalid("EC key: 'x' and 'y' must be 32 bytes each on P-256");
    std::string point = "\x04" + *x + *y;  // uncompressed point (SEC 1 2.3.3)
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
        return invalid("EC key: " + opensslError());
    PkeyPtr key = keyFromParams("EC", bld.get(), error);
    if (!key) return invalid("EC key is not valid: " + error);
    JwkOutcome o;
    o.status = JwkOutcome::kUsable;
    o.key = std::move(key);
    o.alg = "ES256";
    return o;
}

JwkOutcome readJwk(const json& jwk) {
    if (!jwk.is_object()) return invalid("not a JSON object");
    // `use` and `key_ops` (RFC 7517 4.2, 4.3) say what the key is for; only signature checking concerns us.
    if (auto use = jwk.find("use"); use != jwk.end()) {
        if (!use->is_string()) return invalid("'use' is not a string");
        if (use->get_ref<const std::string&>() != "sig") return ignored("'use' is " + use->dump() + ", not \"sig\"");
    }
    if (auto ops = jwk.find("key_ops"); ops != jwk.end()) {
        if (!ops->is_array()) return invalid("'key_ops' is not an array");
        if (std::find(ops->begin(), ops->end(), json("verify")) == ops->end())
            return ignored("'key_ops' does not include \"verify\"");
    }
    auto kty = jwk.find("kty");
    if (kty == jwk.end() || !kty->is_string()) return invalid("'kty' is missing or not a string");
    const auto& type = kty->get_ref<const std::string&>();
    // Never an "oct" key: a secret in a key set would be an HMAC key the token's `alg` could pick.
    if (type != "RSA" && type != "EC")
        return ignored("'kty' " + kty->dump() + " is not supported (RSA for RS256, EC for ES256)");
    // RFC 7517 4.4: a key that names an algorithm is used only for that one.
    const std::string serves = type == "RSA" ? "RS256" : "ES256";
    if (auto alg = jwk.find("alg"); alg != jwk.end()) {
        if (!alg->is_string()) return invalid("'alg' is not a string");
        if (alg->get_ref<const std::string&>() != serves)
            return ignored("'alg' is " + alg->dump() + "; this " + type + " key could only serve " + serves);
    }
    return type == "RSA" ? rsaJwk(jwk) : ecJwk(jwk);
}

// The usable keys of a JWK Set file; notes for the keys left out.
Result<std::vector<JwtVerifier::SetKey>, std::string> loadKeySet(const std::string& path,
                                                                 std::vector<std::string>& notes) {
    std::string text, error;
    if (!readFile(path, text, error)) return unexpected(error);
    json set;
    try {
        set = json::parse(text);
    } catch (const json::parse_error& e) {
        // "[json.exception.parse_error.101] parse error at line 1, ...": keep what an operator can use.
        std::string what = e.what();
        if (auto at = what.find("] "); what.starts_with("[json.exception") && at != std::string::npos)
            what.erase(0, at + 2);
        return unexpected(path + ": not a JSON Web Key Set: " + what);
    }
    if (!set.is_object()) return unexpected(path + ": not a JSON Web Key Set: not a JSON object");
    auto keys = set.find("keys");
    if (keys == set.end() || !keys->is_array()) return unexpected(path + ": not a JSON Web Key Set: no \"keys\" array");
    if (keys->empty()) return unexpected(path + ": the key set holds no keys");

    std::vector<JwtVerifier::SetKey> out;
    std::vector<std::string> why_not;
    size_t index = 0;
    for (const auto& jwk : *keys) {
        ++index;
        std::string kid;
        bool has_kid = false;
        if (jwk.is_object()) {
            if (auto k = jwk.find("kid"); k != jwk.end()) {
                if (!k->is_string() || k->get_ref<const std::string&>().empty())
                    return unexpected(path + ": key #" + std::to_string(index) + ": 'kid' is not a non-empty string");
                kid = k->get_ref<const std::string&>();
                has_kid = true;
            }
        }
        const std::string name = has_kid ? "key '" + kid + "'" : "key #" + std::to_string(index);
        JwkOutcome o = readJwk(jwk);
        if (o.status == JwkOutcome::kInvalid) return unexpected(path + ": " + name + ": " + o.reason);
        if (o.status == JwkOutcome::kIgnored) {
            why_not.push_back(name + ": " + o.reason);
            notes.push_back(path + ": " + name + " ignored: " + o.reason);
            continue;
        }
        for (const auto& k : out) {
            if (has_kid && k.kid == kid) return unexpected(path + ": two usable keys have the kid '" + kid + "'");
        }
        auto pem = publicPem(o.key.get());
        if (!pem) return unexpected(path + ": " + name + ": cannot encode the public key: " + opensslError());
        out.push_back({kid, o.alg, std::move(*pem)});
    }
    if (out.empty()) {
        std::string reasons;
        for (const auto& w : why_not)
            reasons += (reasons.empty() ? "" : "; ") + w;
        return unexpected(path + ": no usable key in the set (" + reasons + ")");
    }
    // With several keys the token's `kid` picks one; a key without a kid could never be picked.
    if (out.size() > 1) {
        for (size_t i = 0; i < out.size(); ++i) {
            if (out[i].kid.empty()) {
                return unexpected(path + ": the set has " + std::to_string(out.size()) +
                                  " usable keys and one of them has no 'kid': each needs one so that a token can "
                                  "name it");
            }
        }
    }
    return out;
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
    if (!settings.enabled()) return unexpected(std::string("JWT needs jwt_key_file, jwt_jwks_file or jwt_secret_file"));
    if (!settings.key_file.empty() && !settings.jwks_file.empty())
        return unexpected(std::string("jwt_key_file and jwt_jwks_file cannot be combined"));

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
    if (!settings.jwks_file.empty()) {
        auto keys = loadKeySet(settings.jwks_file, v->notes_);
        ERR_clear_error();
        if (!keys) return unexpected(keys.error());
        v->set_keys_ = std::move(*keys);
    }
    auto have_key_for = [&](const std::string& alg) {
        return v->key_alg_ == alg ||
               std::any_of(v->set_keys_.begin(), v->set_keys_.end(), [&](const SetKey& k) { return k.alg == alg; });
    };

    if (settings.algorithms.empty()) {
        if (!v->secret_.empty()) v->algorithms_.push_back("HS256");
        for (const char* a : {"RS256", "ES256"}) {
            if (have_key_for(a)) v->algorithms_.push_back(a);
        }
    } else {
        for (const auto& a : settings.algorithms) {
            if (a == "HS256") {
                if (v->secret_.empty())
                    return unexpected(std::string("HS256 is allowed but jwt_secret_file is not set"));
            } else if (a == "RS256" || a == "ES256") {
                if (!have_key_for(a)) {
                    return unexpected(a + " is allowed but " +
                                      (!settings.jwks_file.empty() ? settings.jwks_file + " holds no usable " +
                                                                         (a == "RS256" ? "RSA" : "EC P-256") + " key"
                                       : v->key_alg_.empty() ? std::string("jwt_key_file is not set")
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

    // HS256 only ever gets the secret; RS256 and ES256 the key file's key, or the key set's key the `kid` names
    // (and only when that key is of the token's type).
    const std::string* key = alg == "HS256" ? &secret_ : &public_pem_;
    if (alg != "HS256" && !set_keys_.empty()) {
        const SetKey* chosen = nullptr;
        std::string name;
        if (auto kid = header.find("kid"); kid != header.end()) {
            if (!kid->is_string()) return fail(JwtError::kMalformed, "header 'kid' is not a string");
            const auto& wanted = kid->get_ref<const std::string&>();
            for (const auto& k : set_keys_) {
                if (!k.kid.empty() && k.kid == wanted) chosen = &k;
            }
            if (!chosen) return fail(JwtError::kUnknownKey, "no key with kid " + kid->dump() + " in the key set");
            name = "key " + kid->dump();
        } else if (set_keys_.size() == 1) {
            chosen = &set_keys_.front();
            name = "the key set's only key";
        } else {
            return fail(JwtError::kUnknownKey,
                        "token has no 'kid' and the key set holds " + std::to_string(set_keys_.size()) + " keys");
        }
        if (chosen->alg != alg)
            return fail(JwtError::kAlgorithmNotAllowed, name + " is for " + chosen->alg + ", the token says " + alg);
        key = &chosen->pem;
    }
    const jwt_alg_t expected = alg == "HS256" ? JWT_ALG_HS256 : alg == "RS256" ? JWT_ALG_RS256 : JWT_ALG_ES256;
    std::string token_z(token);
    jwt_t* raw = nullptr;
    int rc = jwt_decode(&raw, token_z.c_str(), reinterpret_cast<const unsigned char*>(key->data()),
                        static_cast<int>(key->size()));
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
