#pragma once
// The users of a Mosquitto `password_file`, ready for CONNECT: loaded once (start-up or SIGHUP) and then
// immutable, so any number of workers may call check() at once without a lock. A reload builds a new store
// and swaps the shared_ptr; connections keep whatever store they authenticated with.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/result.hpp"

namespace starling::auth {

// A hash the config checker should tell about. kPlaintext: not one of the encodings password_hash.hpp
// knows (a clear-text password, or a corrupt hash); such a user can never log in. kWeak: an encoding or
// cost that is cheap to brute-force (`$6$` single SHA-512, PBKDF2 below kMinPbkdf2Iterations, SCRAM below
// RFC 7677's 4096 iterations, Argon2id below OWASP's memory x passes).
struct HashNote {
    enum Kind { kPlaintext, kWeak };
    Kind kind;
    std::string username;
    int line;
    std::string detail;  // "single SHA-512 ($6$)", "PBKDF2 with 101 iterations", ...
};

// NIST SP 800-132 asks for at least 10,000 PBKDF2 iterations; mosquitto_passwd 2.0 writes 101.
inline constexpr int kMinPbkdf2Iterations = 10'000;
// OWASP's Argon2id settings (m=47104 t=1 ... m=7168 t=5) all have memory (KiB) x passes >= 35840.
inline constexpr long kMinArgon2MemoryTimesPasses = 35'840;

class PasswordStore {
  public:
    enum class Check { kOk, kUnknownUser, kBadPassword };

    // Errors say "<path>:<line>: <why>" (or "<path>: <strerror>"): a line without a user name or a hash, a
    // user listed twice.
    [[nodiscard]] static Result<std::shared_ptr<const PasswordStore>, std::string> load(const std::string& path);
    [[nodiscard]] static Result<std::shared_ptr<const PasswordStore>, std::string> parse(std::string_view text,
                                                                                         std::string_view origin);

    // Verifies `password` against the user's hash. An unknown user costs about as much as a known one, so
    // response time does not tell which user names exist.
    [[nodiscard]] Check check(std::string_view username, std::string_view password) const;

    [[nodiscard]] bool hasUser(std::string_view username) const { return users_.find(username) != users_.end(); }
    // The user's encoded hash (for SCRAM, which needs the verifier itself); nullptr for an unknown user.
    [[nodiscard]] const std::string* hashOf(std::string_view username) const;
    size_t size() const { return users_.size(); }
    const std::vector<HashNote>& notes() const { return notes_; }

  private:
    struct StringHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    struct User {
        std::string hash;
        int line;
    };

    std::unordered_map<std::string, User, StringHash, std::equal_to<>> users_;
    std::string decoy_hash_;  // verified for unknown users
    std::vector<HashNote> notes_;
};

// Classifies one encoded hash; nullopt when it is fine.
std::optional<HashNote> assessHash(std::string_view username, std::string_view hash, int line);

}  // namespace starling::auth
