#include "auth/password_hash.hpp"

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

std::string base64Encode(const unsigned char* data, size_t n) {
    std::string out(4 * ((n + 2) / 3), '\0');
    int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
    out.resize(len < 0 ? 0 : static_cast<size_t>(len));
    return out;
}

std::optional<std::vector<unsigned char>> base64Decode(std::string_view s) {
    if (s.empty() || s.size() % 4 != 0) return std::nullopt;
    std::vector<unsigned char> out(3 * s.size() / 4);
    int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
    if (len < 0) return std::nullopt;
    // EVP_DecodeBlock counts padding as zero bytes; drop them.
    size_t pad = (s.ends_with("==") ? 2 : s.ends_with("=") ? 1 : 0);
    out.resize(static_cast<size_t>(len) - pad);
    return out;
}

bool sha512(std::string_view password, const std::vector<unsigned char>& salt, unsigned char* digest) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (!ctx) return false;
    unsigned int len = 0;
    bool ok = EVP_DigestInit_ex(ctx, EVP_sha512(), nullptr) == 1 &&
              EVP_DigestUpdate(ctx, password.data(), password.size()) == 1 &&
              EVP_DigestUpdate(ctx, salt.data(), salt.size()) == 1 && EVP_DigestFinal_ex(ctx, digest, &len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok && len == kSha512Length;
}

bool pbkdf2(std::string_view password, const std::vector<unsigned char>& salt, int iterations, unsigned char* key) {
    return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                             static_cast<int>(salt.size()), iterations, EVP_sha512(), kSha512Length, key) == 1;
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

bool digestEquals(const unsigned char* computed, const std::vector<unsigned char>& expected) {
    return expected.size() == kSha512Length && CRYPTO_memcmp(computed, expected.data(), kSha512Length) == 0;
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
        if (!sha512(password, salt, digest)) return std::nullopt;
        return "$6$" + base64Encode(salt.data(), salt.size()) + "$" + base64Encode(digest, sizeof(digest));
    }
    if (iterations < 1) iterations = kDefaultPbkdf2Iterations;
    if (!pbkdf2(password, salt, iterations, digest)) return std::nullopt;
    return "$7$" + std::to_string(iterations) + "$" + base64Encode(salt.data(), salt.size()) + "$" +
           base64Encode(digest, sizeof(digest));
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
        auto salt = base64Decode(parts[0]);
        auto hash = base64Decode(parts[1]);
        return salt && hash && sha512(password, *salt, digest) && digestEquals(digest, *hash);
    }
    if (encoded.starts_with("$7$")) {
        auto parts = splitDollar(encoded.substr(3));
        if (parts.size() != 3) return false;
        int iterations = 0;
        auto [p, ec] = std::from_chars(parts[0].data(), parts[0].data() + parts[0].size(), iterations);
        if (ec != std::errc() || p != parts[0].data() + parts[0].size() || iterations < 1) return false;
        auto salt = base64Decode(parts[1]);
        auto hash = base64Decode(parts[2]);
        return salt && hash && pbkdf2(password, *salt, iterations, digest) && digestEquals(digest, *hash);
    }
    return false;
}

}  // namespace starling::auth
