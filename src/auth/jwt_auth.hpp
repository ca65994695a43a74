#pragma once
// JWT bearer tokens in the CONNECT password (RFC 7519), verified with libjwt over OpenSSL: HS256 with a
// shared secret, RS256 and ES256 with a PEM public key or with the keys of a JSON Web Key Set (RFC 7517, the
// `jwks_uri` document identity providers publish), chosen by the token's `kid`. Built once from the `jwt_*`
// settings (start-up or SIGHUP) and then immutable: verify() may run on any number of workers at once.
//
// libjwt 1.10 verifies with whatever algorithm the token's header names, so a token saying HS256 would be
// checked with the RSA public key as its HMAC secret ("algorithm confusion"). We read the header first and
// hand libjwt only the key that belongs to the named algorithm, and only for the allowed algorithms. A JWK
// Set key is used only for the algorithm of its type (RSA: RS256, EC P-256: ES256), never as an HMAC secret.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "util/result.hpp"

namespace starling::auth {

// What a valid token says about its bearer.
struct TokenIdentity {
    std::string username;
    std::chrono::system_clock::time_point expires_at;  // the broker may end the session then
    // Per-token topic filters from the publish/subscribe claims; nullopt: the token does not limit that.
    std::optional<std::vector<std::string>> publish;
    std::optional<std::vector<std::string>> subscribe;

    // Whether the token's own lists allow these (always true for a list the token lacks). They add to, and
    // never replace, an acl_file's decision: the broker should ask both.
    [[nodiscard]] bool canPublish(std::string_view topic) const;
    [[nodiscard]] bool canReceive(std::string_view topic) const;
    [[nodiscard]] bool canSubscribe(std::string_view filter) const;  // `$share/GROUP/` is ignored
};

struct JwtError {
    enum Kind {
        kMalformed,            // not three base64url parts, bad JSON, `crit` header, too long
        kAlgorithmNotAllowed,  // `alg` not in jwt_algorithms (or "none")
        kBadSignature,
        kExpired,      // `exp` passed, or missing
        kNotYetValid,  // `nbf` in the future
        kWrongIssuer,
        kWrongAudience,
        kNoUsername,  // the username claim is missing, empty or not a string
        kBadClaims,   // publish/subscribe claim not an array of valid topic filters; `exp`/`nbf` not a number
        kUnknownKey,  // jwt_jwks_file: `kid` names no key of the set, or is missing when the set has several
    };
    Kind kind;
    std::string message;  // for the log, never for the client
};

class JwtVerifier {
  public:
    // Reads the key and secret files. Errors: unreadable file, a secret shorter than 32 bytes (RFC 7518 3.2),
    // a key that is neither an RSA key of 2048 bits or more nor an EC P-256 key, an allowed algorithm without
    // its key, no key at all. The key file may hold a public key, a certificate or a private key (only its
    // public half is kept).
    // jwt_jwks_file (not with jwt_key_file): a JSON object whose `keys` array holds RSA keys (`n`, `e`; 2048
    // bits or more; RS256) and EC P-256 keys (`x`, `y`; ES256). Keys meant for something else (`use` other than
    // "sig", `alg` or `key_ops` that do not fit), of another `kty` or curve, or RSA keys under 2048 bits are left
    // out with a note (notes()). Errors: no usable key (the message says why each one was left out), bad JSON, a
    // supported key with missing or invalid parameters, two usable keys with one `kid`, or several usable keys
    // of which one has no `kid` (it could never be chosen).
    // `leeway` forgives that much clock skew on `exp` and `nbf`.
    [[nodiscard]] static Result<std::shared_ptr<const JwtVerifier>, std::string> create(
        const config::JwtSettings& settings, std::chrono::seconds leeway = std::chrono::seconds(0));

    [[nodiscard]] Result<TokenIdentity, JwtError> verify(
        std::string_view token, std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

    // True for a password shaped like a compact JWS ("xxx.yyy.zzz" in base64url): lets the broker choose
    // between the token and the password file without trying both.
    static bool looksLikeJwt(std::string_view password);

    // The algorithms accepted, after defaults ("HS256", "RS256", "ES256").
    const std::vector<std::string>& algorithms() const { return algorithms_; }

    // What create() left out of the JWK Set and why, one line each ("FILE: key 'k1' ignored: ..."), for the log.
    const std::vector<std::string>& notes() const { return notes_; }

    // One usable key of jwt_jwks_file.
    struct SetKey {
        std::string kid;  // empty: none (only when it is the set's only key)
        std::string alg;  // "RS256" or "ES256"
        std::string pem;  // PEM SubjectPublicKeyInfo, for libjwt
    };

  private:
    std::chrono::seconds leeway_{0};
    config::JwtSettings settings_;
    std::vector<std::string> algorithms_;
    std::string secret_;            // HS256
    std::string public_pem_;        // RS256 or ES256: the public key as PEM SubjectPublicKeyInfo, for libjwt
    std::string key_alg_;           // "RS256" or "ES256": what public_pem_ is for
    std::vector<SetKey> set_keys_;  // jwt_jwks_file; chosen by the token's `kid`
    std::vector<std::string> notes_;
};

}  // namespace starling::auth
