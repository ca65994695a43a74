#pragma once
// Password hashes in Mosquitto's password-file encodings, so files move freely between Mosquitto and Starling:
//   $6$<salt b64>$<hash b64>               SHA-512 over password then salt (Mosquitto 1.x)
//   $7$<iterations>$<salt b64>$<hash b64>  PBKDF2-HMAC-SHA512, 64-byte key (Mosquitto 2.x default)
//   $argon2id$v=19$m=..,t=..,p=..$..       Argon2id in its PHC string form (libargon2's encoding)
//   $scram-sha-256$<iterations>$...        ours: a SCRAM-SHA-256 verifier (auth/scram.hpp), which also allows
//                                          MQTT 5 enhanced authentication; Mosquitto does not read it
// Hashing goes through OpenSSL and libargon2 only. Pure functions; any thread.
#include <optional>
#include <string>
#include <string_view>

namespace starling::auth {

enum class HashType { kSha512, kSha512Pbkdf2, kArgon2id, kScramSha256 };

inline constexpr int kDefaultPbkdf2Iterations = 101;  // what mosquitto_passwd 2.0 writes
inline constexpr int kDefaultArgon2Iterations = 3;
inline constexpr size_t kSaltLength = 12;

// Parses "sha512", "sha512-pbkdf2", "argon2id" or "scram-sha-256".
std::optional<HashType> parseHashType(std::string_view name);

// A fresh random salt and the encoded hash; nullopt when the crypto library fails. `iterations` is PBKDF2's
// iteration count or Argon2's time cost; ignored for plain SHA-512.
std::optional<std::string> hashPassword(std::string_view password, HashType type, int iterations);

// True when `password` matches `encoded` (any of the three encodings). Constant-time comparison of digests.
bool verifyPassword(std::string_view encoded, std::string_view password);

}  // namespace starling::auth
