#include "auth/password_hash.hpp"

#include "auth/encoding.hpp"
#include "auth/scram.hpp"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <vector>

namespace starling::auth {
namespace {

constexpr size_t kSha512Length = 64;

std::string_view bytes(const void* data, size_t n) {
    return {static_cast<const char*>(data), n};
}

// A field of a stored hash: padded base64, never empty.
std::optional<std::string> decodeField(std::string_view text) {
    if (text.empty()) return std::nullopt;
    return base64Decode(text);
}

bool sha512(std::string_view password, std::string_view salt, unsigned char* digest) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (!ctx) return false;
    unsigned int len = 0;
    bool ok = EVP_DigestInit_ex(ctx, EVP_sha512(), nullptr) == 1 &&
              EVP_DigestUpdate(ctx, password.data(), password.size()) == 1 &&
              EVP_DigestUpdate(ctx, salt.data(), salt.size()) == 1 && EVP_DigestFinal_ex(ctx, digest, &len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok && len == kSha512Length;
}

bool pbkdf2(std::string_view password, std::string_view salt, int iterations, unsigned char* key) {
    return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                             reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                             iterations, EVP_sha512(), kSha512Length, key) == 1;
}

// Splits "a$b$c" (after the leading "$6$"/"$7$") into its fields.
std::vector<std::string_view> splitDollar(std::string_view s) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (;;) {
        size_t d = s.find('$', start);
        parts.push_back(s.substr(start, d == std::string_view::npos ? std::string_view::npos : d - start));
        if (d == std::string_view::npos) break;
        start = d + 1;
    }
    return parts;
}

bool digestEquals(const unsigned char* computed, std::string_view expected) {
    return equalConstantTime(bytes(computed, kSha512Length), expected);
}

}  // namespace

std::optional<HashType> parseHashType(std::string_view name) {
    if (name == "sha512") return HashType::kSha512;
    if (name == "sha512-pbkdf2") return HashType::kSha512Pbkdf2;
    if (name == "argon2id") return HashType::kArgon2id;
    if (name == "scram-sha-256") return HashType::kScramSha256;
    return std::nullopt;
}

std::optional<std::string> hashPassword(std::string_view password, HashType type, int iterations) {
    if (type == HashType::kScramSha256)
        return makeScramVerifier(password, iterations > 0 ? iterations : kDefaultScramIterations);
    std::vector<unsigned char> salt(type == HashType::kArgon2id ? 16 : kSaltLength);
    if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) return std::nullopt;

    if (type == HashType::kArgon2id) {
        uint32_t t_cost = iterations > 0 ? static_cast<uint32_t>(iterations) : kDefaultArgon2Iterations;
        constexpr uint32_t kMemoryKiB = 19456;  // OWASP's minimum for Argon2id
        constexpr uint32_t kLanes = 1, kHashLength = 32;
        size_t len = argon2_encodedlen(t_cost, kMemoryKiB, kLanes, salt.size(), kHashLength, Argon2_id);
        std::string encoded(len, '\0');
        if (argon2id_hash_encoded(t_cost, kMemoryKiB, kLanes, password.data(), password.size(), salt.data(),
                                  salt.size(), kHashLength, encoded.data(), encoded.size()) != ARGON2_OK) {
            return std::nullopt;
        }
        encoded.resize(encoded.find('\0'));
        return encoded;
    }

    unsigned char digest[kSha512Length];
    if (type == HashType::kSha512) {
        if (!sha512(password, bytes(salt.data(), salt.size()), digest)) return std::nullopt;
        return "$6$" + base64Encode(bytes(salt.data(), salt.size())) + "$" + base64Encode(bytes(digest, sizeof digest));
    }
    if (iterations < 1) iterations = kDefaultPbkdf2Iterations;
    if (!pbkdf2(password, bytes(salt.data(), salt.size()), iterations, digest)) return std::nullopt;
    return "$7$" + std::to_string(iterations) + "$" + base64Encode(bytes(salt.data(), salt.size())) + "$" +
           base64Encode(bytes(digest, sizeof digest));
}

bool verifyPassword(std::string_view encoded, std::string_view password) {
    if (encoded.starts_with(kScramPrefix)) return verifyScramVerifier(encoded, password);
    if (encoded.starts_with("$argon2id$")) {
        std::string z(encoded);
        return argon2id_verify(z.c_str(), password.data(), password.size()) == ARGON2_OK;
    }
    unsigned char digest[kSha512Length];
    if (encoded.starts_with("$6$")) {
        auto parts = splitDollar(encoded.substr(3));
        if (parts.size() != 2) return false;
        auto salt = decodeField(parts[0]);
        auto hash = decodeField(parts[1]);
        return salt && hash && sha512(password, *salt, digest) && digestEquals(digest, *hash);
    }
    if (encoded.starts_with("$7$")) {
        auto parts = splitDollar(encoded.substr(3));
        if (parts.size() != 3) return false;
        int iterations = 0;
        auto [p, ec] = std::from_chars(parts[0].data(), parts[0].data() + parts[0].size(), iterations);
        if (ec != std::errc() || p != parts[0].data() + parts[0].size() || iterations < 1) return false;
        auto salt = decodeField(parts[1]);
        auto hash = decodeField(parts[2]);
        return salt && hash && pbkdf2(password, *salt, iterations, digest) && digestEquals(digest, *hash);
    }
    return false;
}

}  // namespace starling::auth
