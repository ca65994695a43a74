#pragma once
// SCRAM-SHA-256 (RFC 5802, RFC 7677), the server side, for MQTT 5 enhanced authentication, and the
// verifier it checks against. A verifier is a password-file hash of its own:
//   $scram-sha-256$<iterations>$<salt b64>$<StoredKey b64>$<ServerKey b64>
// so the server never keeps the password, and a CONNECT password can be checked against it too.
// Crypto through OpenSSL only. ScramServer is one exchange: not thread-safe, cheap to create.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace starling::auth {

inline constexpr std::string_view kScramPrefix = "$scram-sha-256$";
inline constexpr int kDefaultScramIterations = 4096;  // RFC 7677's minimum

struct ScramCredential {
    int iterations = 0;
    std::string salt;        // raw bytes
    std::string stored_key;  // raw, 32 bytes
    std::string server_key;  // raw, 32 bytes
};

// A verifier for `password` with a fresh random salt; nullopt when OpenSSL fails.
std::optional<std::string> makeScramVerifier(std::string_view password, int iterations = kDefaultScramIterations);
std::optional<ScramCredential> parseScramVerifier(std::string_view encoded);
// True when `password` matches the verifier (constant-time comparison).
bool verifyScramVerifier(std::string_view encoded, std::string_view password);
// The credential of a password with a given salt (tests, and deriving verifiers).
ScramCredential scramCredential(std::string_view password, std::string_view salt, int iterations);

class ScramServer {
  public:
    // Finds a user's credential; nullopt for an unknown user (the exchange then fails at the end, after a
    // plausible server-first message, so that user names cannot be probed).
    using Lookup = std::function<std::optional<ScramCredential>(std::string_view username)>;
    // `nonce` is for tests; empty means a fresh random one.
    explicit ScramServer(Lookup lookup, std::string nonce = {});

    struct Step {
        enum Status { kContinue, kSuccess, kFailure } status = kFailure;
        std::string data;      // server-first or server-final message
        std::string username;  // on success
        std::string error;     // on failure, for the log
    };
    Step clientFirst(std::string_view message);
    Step clientFinal(std::string_view message);

  private:
    Lookup lookup_;
    std::string nonce_;
    std::string username_;
    std::string client_first_bare_;
    std::string server_first_;
    std::string full_nonce_;
    std::optional<ScramCredential> credential_;
    bool started_ = false;
};

}  // namespace starling::auth
