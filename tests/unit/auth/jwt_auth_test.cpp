// JWT bearer tokens: tokens are minted at test time with libjwt, keys generated with OpenSSL.
#include "auth/jwt_auth.hpp"

#include <gtest/gtest.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <atomic>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "temp_dir.hpp"

namespace starling::auth {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using std::chrono::system_clock;

const std::string kSecret = "correct horse battery staple, 32+ bytes long";
const auto kNow = system_clock::time_point(seconds(1'700'000'000));
constexpr long kNowSeconds = 1'700'000'000;

std::string pem(EVP_PKEY* key, bool private_key) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (private_key) {
        PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    } else {
        PEM_write_bio_PUBKEY(bio, key);
    }
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(bio);
    return out;
}

struct KeyPair {
    std::string private_pem, public_pem;
};

KeyPair generate(const char* type, const char* curve_or_null, size_t rsa_bits = 2048) {
    EVP_PKEY* key = curve_or_null ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve_or_null)
                                  : EVP_PKEY_Q_keygen(nullptr, nullptr, type, rsa_bits);
    EXPECT_NE(key, nullptr);
    KeyPair kp{pem(key, true), pem(key, false)};
    EVP_PKEY_free(key);
    return kp;
}

// A signed token over `claims`; `key` is the secret (HS256) or the private key PEM.
std::string mint(jwt_alg_t alg, const std::string& key, const json& claims, const json& headers = json::object()) {
    jwt_t* jwt = nullptr;
    jwt_new(&jwt);
    jwt_add_grants_json(jwt, claims.dump().c_str());
    if (!headers.empty()) jwt_add_headers_json(jwt, headers.dump().c_str());
    jwt_set_alg(jwt, alg, alg == JWT_ALG_NONE ? nullptr : reinterpret_cast<const unsigned char*>(key.data()),
                alg == JWT_ALG_NONE ? 0 : static_cast<int>(key.size()));
    char* s = jwt_encode_str(jwt);
    std::string token = s ? s : "";
    free(s);
    jwt_free(jwt);
    EXPECT_FALSE(token.empty());
    return token;
}

std::string base64Url(const std::string& in) {
    std::string out(4 * ((in.size() + 2) / 3), '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    out.resize(static_cast<size_t>(n));
    while (!out.empty() && out.back() == '=')
        out.pop_back();
    for (char& c : out)
        c = c == '+' ? '-' : c == '/' ? '_' : c;
    return out;
}

// An HS256 token with exactly this header, for headers libjwt would not write.
std::string handMadeHs256(const json& header, const json& claims, const std::string& secret) {
    std::string input = base64Url(header.dump()) + "." + base64Url(claims.dump());
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    return input + "." + base64Url(std::string(reinterpret_cast<char*>(mac), len));
}

json validClaims() {
    return json{{"sub", "alice"}, {"exp", kNowSeconds + 3600}};
}

class JwtTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        rsa_ = new KeyPair(generate("RSA", nullptr));
        ec_ = new KeyPair(generate("EC", "P-256"));
    }
    static void TearDownTestSuite() {
        delete rsa_;
        delete ec_;
    }

    // A verifier over files written now; `settings` gets the file paths filled in.
    std::shared_ptr<const JwtVerifier> verifier(config::JwtSettings settings, const std::string& key_pem = "",
                                                bool with_secret = false, seconds leeway = seconds(0)) {
        if (!key_pem.empty()) settings.key_file = dir_.write("key.pem", key_pem);
        if (with_secret) settings.secret_file = dir_.write("secret", kSecret + "\n");
        auto v = JwtVerifier::create(settings, leeway);
        EXPECT_TRUE(v.ok()) << v.error();
        return v.ok() ? *v : nullptr;
    }
    std::shared_ptr<const JwtVerifier> hs256() { return verifier({}, "", true); }

    static JwtError::Kind failure(const Result<TokenIdentity, JwtError>& r) {
        EXPECT_FALSE(r.ok()) << "token accepted for " << r->username;
        return r.ok() ? JwtError::kMalformed : r.error().kind;
    }

    static KeyPair* rsa_;
    static KeyPair* ec_;
    testing::TempDir dir_;
};
KeyPair* JwtTest::rsa_ = nullptr;
KeyPair* JwtTest::ec_ = nullptr;

// ---- Valid tokens

TEST_F(JwtTest, Hs256TokenGivesItsSubjectAsUsername) {
    auto v = hs256();
    auto id = v->verify(mint(JWT_ALG_HS256, kSecret, validClaims()), kNow);
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_EQ(id->username, "alice");
    EXPECT_EQ(id->expires_at, system_clock::time_point(seconds(kNowSeconds + 3600)));
    EXPECT_FALSE(id->publish.has_value());
    EXPECT_FALSE(id->subscribe.has_value());
    EXPECT_TRUE(id->canPublish("any/topic"));
    EXPECT_TRUE(id->canSubscribe("#"));
    EXPECT_EQ(v->algorithms(), std::vector<std::string>{"HS256"});
}

TEST_F(JwtTest, Rs256TokenVerifiesWithThePublicKey) {
    auto v = verifier({}, rsa_->public_pem);
    EXPECT_EQ(v->algorithms(), std::vector<std::string>{"RS256"});
    auto id = v->verify(mint(JWT_ALG_RS256, rsa_->private_pem, validClaims()), kNow);
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_EQ(id->username, "alice");
}

TEST_F(JwtTest, Es256TokenVerifiesWithThePublicKey) {
    auto v = verifier({}, ec_->public_pem);
    EXPECT_EQ(v->algorithms(), std::vector<std::string>{"ES256"});
    auto id = v->verify(mint(JWT_ALG_ES256, ec_->private_pem, validClaims()), kNow);
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_EQ(id->username, "alice");
}

TEST_F(JwtTest, KeyFileMayHoldAPrivateKeyOrACertificate) {
    auto from_private = verifier({}, ec_->private_pem);
    EXPECT_TRUE(from_private->verify(mint(JWT_ALG_ES256, ec_->private_pem, validClaims()), kNow).ok());

    std::string key_path = dir_.write("rsa.key", rsa_->private_pem);
    std::string cert_path = dir_.path() + "/cert.pem";
    std::string cmd =
        "openssl req -x509 -key " + key_path + " -subj /CN=issuer -days 1 -out " + cert_path + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "the openssl command failed";
    config::JwtSettings s;
    s.key_file = cert_path;
    auto from_cert = JwtVerifier::create(s);
    ASSERT_TRUE(from_cert.ok()) << from_cert.error();
    EXPECT_TRUE((*from_cert)->verify(mint(JWT_ALG_RS256, rsa_->private_pem, validClaims()), kNow).ok());
}

TEST_F(JwtTest, SecretFileTrailingNewlineIsNotPartOfTheSecret) {
    // verifier() writes the secret followed by "\n"; tokens are signed without it.
    EXPECT_TRUE(hs256()->verify(mint(JWT_ALG_HS256, kSecret, validClaims()), kNow).ok());
}

TEST_F(JwtTest, UsernameComesFromTheConfiguredClaim) {
    config::JwtSettings s;
    s.username_claim = "preferred_username";
    auto v = verifier(s, "", true);
    json claims = validClaims();
    claims["preferred_username"] = "bob";
    auto id = v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow);
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_EQ(id->username, "bob");
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_HS256, kSecret, validClaims()), kNow)), JwtError::kNoUsername);
}

// ---- Time

TEST_F(JwtTest, ExpiredTokenIsRefused) {
    auto v = hs256();
    json claims = validClaims();
    claims["exp"] = kNowSeconds - 1;
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow)), JwtError::kExpired);
    claims["exp"] = kNowSeconds;  // RFC 7519 4.1.4: valid only before exp
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow)), JwtError::kExpired);
}

TEST_F(JwtTest, TokenWithoutExpiryIsRefused) {
    EXPECT_EQ(failure(hs256()->verify(mint(JWT_ALG_HS256, kSecret, json{{"sub", "alice"}}), kNow)), JwtError::kExpired);
    json claims = validClaims();
    claims["exp"] = "tomorrow";
    EXPECT_EQ(failure(hs256()->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow)), JwtError::kBadClaims);
}

TEST_F(JwtTest, LeewayForgivesSmallClockSkew) {
    auto v = verifier({}, "", true, seconds(30));
    json claims = validClaims();
    claims["exp"] = kNowSeconds - 10;
    EXPECT_TRUE(v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow).ok());
    claims["exp"] = kNowSeconds - 31;
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow)), JwtError::kExpired);
}

TEST_F(JwtTest, NotBeforeInTheFutureIsRefused) {
    auto v = hs256();
    json claims = validClaims();
    claims["nbf"] = kNowSeconds + 60;
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow)), JwtError::kNotYetValid);
    claims["nbf"] = kNowSeconds;
    EXPECT_TRUE(v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow).ok());
}

// ---- Signatures and algorithms

TEST_F(JwtTest, WrongSecretIsRefused) {
    EXPECT_EQ(failure(hs256()->verify(mint(JWT_ALG_HS256, kSecret + "x", validClaims()), kNow)),
              JwtError::kBadSignature);
}

TEST_F(JwtTest, AlteredPayloadIsRefused) {
    std::string token = mint(JWT_ALG_HS256, kSecret, validClaims());
    std::string forged = mint(JWT_ALG_HS256, "another secret of at least 32 bytes....",
                              json{{"sub", "admin"}, {"exp", kNowSeconds + 60}});
    // The header and signature of the real token around the payload of another.
    size_t d1 = token.find('.'), d2 = token.rfind('.');
    size_t f1 = forged.find('.'), f2 = forged.rfind('.');
    std::string spliced = token.substr(0, d1 + 1) + forged.substr(f1 + 1, f2 - f1 - 1) + token.substr(d2);
    EXPECT_EQ(failure(hs256()->verify(spliced, kNow)), JwtError::kBadSignature);
}

TEST_F(JwtTest, TokenSignedByAnotherKeyIsRefused) {
    KeyPair other = generate("EC", "P-256");
    auto v = verifier({}, ec_->public_pem);
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_ES256, other.private_pem, validClaims()), kNow)), JwtError::kBadSignature);
}

TEST_F(JwtTest, AlgorithmNotAllowedIsRefused) {
    config::JwtSettings s;
    s.algorithms = {"RS256"};
    auto v = verifier(s, rsa_->public_pem);
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_HS256, kSecret, validClaims()), kNow)), JwtError::kAlgorithmNotAllowed);
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_RS384, rsa_->private_pem, validClaims()), kNow)),
              JwtError::kAlgorithmNotAllowed);
}

TEST_F(JwtTest, UnsignedTokenIsRefused) {
    std::string token = mint(JWT_ALG_NONE, "", validClaims());
    EXPECT_EQ(failure(hs256()->verify(token, kNow)), JwtError::kAlgorithmNotAllowed);
}

TEST_F(JwtTest, PublicKeyUsedAsHmacSecretIsRefused) {
    // Algorithm confusion: libjwt alone would check this HS256 token with the RSA public key as secret.
    config::JwtSettings s;
    s.algorithms = {"HS256", "RS256"};
    auto v = verifier(s, rsa_->public_pem, true);
    std::string key_as_loaded = rsa_->public_pem;
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_HS256, key_as_loaded, validClaims()), kNow)), JwtError::kBadSignature);
    auto rs_only = verifier({}, rsa_->public_pem);
    EXPECT_EQ(failure(rs_only->verify(mint(JWT_ALG_HS256, key_as_loaded, validClaims()), kNow)),
              JwtError::kAlgorithmNotAllowed);
}

TEST_F(JwtTest, CriticalHeaderExtensionsAreRefused) {
    std::string token = mint(JWT_ALG_HS256, kSecret, validClaims(), json{{"crit", json::array({"exp"})}});
    EXPECT_EQ(failure(hs256()->verify(token, kNow)), JwtError::kMalformed);
}

TEST_F(JwtTest, OnlyTheJwtTypeIsAccepted) {
    auto v = hs256();
    EXPECT_TRUE(v->verify(handMadeHs256({{"alg", "HS256"}, {"typ", "JWT"}}, validClaims(), kSecret), kNow).ok());
    EXPECT_TRUE(v->verify(handMadeHs256({{"alg", "HS256"}}, validClaims(), kSecret), kNow).ok());
    auto at = v->verify(handMadeHs256({{"alg", "HS256"}, {"typ", "at+jwt"}}, validClaims(), kSecret), kNow);
    EXPECT_EQ(failure(at), JwtError::kMalformed);
    EXPECT_EQ(at.error().message, "header 'typ' is \"at+jwt\"; only \"JWT\" is supported");
}

TEST_F(JwtTest, GarbageIsMalformed) {
    auto v = hs256();
    for (const char* t : {"", "secret", "a.b", "eyJ.eyJ.x.y", "eyJhbGciOiJIUzI1NiJ9.!!!.abc", "eyJub3Rqc29u.e30.abc"})
        EXPECT_EQ(failure(v->verify(t, kNow)), JwtError::kMalformed) << t;
    EXPECT_EQ(failure(v->verify(std::string(20000, 'a'), kNow)), JwtError::kMalformed);
}

TEST_F(JwtTest, LooksLikeJwtTellsTokensFromPasswords) {
    EXPECT_TRUE(JwtVerifier::looksLikeJwt(mint(JWT_ALG_HS256, kSecret, validClaims())));
    EXPECT_FALSE(JwtVerifier::looksLikeJwt("hunter2"));
    EXPECT_FALSE(JwtVerifier::looksLikeJwt("my.pass.word"));
    EXPECT_FALSE(JwtVerifier::looksLikeJwt("eyJ.x"));
}

// ---- Issuer and audience

TEST_F(JwtTest, IssuerMustMatchWhenConfigured) {
    config::JwtSettings s;
    s.issuer = "https://auth.example";
    auto v = verifier(s, "", true);
    json claims = validClaims();
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow)), JwtError::kWrongIssuer);
    claims["iss"] = "https://evil.example";
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow)), JwtError::kWrongIssuer);
    claims["iss"] = "https://auth.example";
    EXPECT_TRUE(v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow).ok());
}

TEST_F(JwtTest, AudienceMustNameUsWhenConfigured) {
    config::JwtSettings s;
    s.audience = "starling";
    auto v = verifier(s, "", true);
    json claims = validClaims();
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow)), JwtError::kWrongAudience);
    claims["aud"] = "grafana";
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow)), JwtError::kWrongAudience);
    claims["aud"] = "starling";
    EXPECT_TRUE(v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow).ok());
    claims["aud"] = json::array({"grafana", "starling"});
    EXPECT_TRUE(v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow).ok());
}

TEST_F(JwtTest, TokenForAnotherAudienceIsRefusedEvenWithoutJwtAudience) {
    // RFC 7519 4.1.3: a token whose `aud` does not name us must be refused.
    json claims = validClaims();
    claims["aud"] = "grafana";
    EXPECT_EQ(failure(hs256()->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow)), JwtError::kWrongAudience);
}

// ---- Per-token topic lists

TEST_F(JwtTest, TopicClaimsLimitWhatTheTokenMayDo) {
    json claims = validClaims();
    claims["pub"] = json::array({"devices/alice/#"});
    claims["subs"] = json::array({"commands/alice/+", "broadcast"});
    auto id = hs256()->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow);
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_TRUE(id->canPublish("devices/alice/temp"));
    EXPECT_FALSE(id->canPublish("devices/bob/temp"));
    EXPECT_TRUE(id->canSubscribe("commands/alice/+"));
    EXPECT_TRUE(id->canSubscribe("commands/alice/reboot"));
    EXPECT_TRUE(id->canSubscribe("$share/g/broadcast"));
    EXPECT_FALSE(id->canSubscribe("commands/#"));
    EXPECT_TRUE(id->canReceive("commands/alice/reboot"));
    EXPECT_FALSE(id->canReceive("commands/bob/reboot"));
}

TEST_F(JwtTest, AnEmptyTopicListAllowsNothing) {
    json claims = validClaims();
    claims["pub"] = json::array();
    auto id = hs256()->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow);
    ASSERT_TRUE(id.ok());
    EXPECT_FALSE(id->canPublish("a"));
    EXPECT_TRUE(id->canSubscribe("a"));  // no subscribe claim: not limited by the token
}

TEST_F(JwtTest, TopicClaimNamesAreConfigurable) {
    config::JwtSettings s;
    s.publish_claim = "mqtt_pub";
    s.subscribe_claim = "mqtt_sub";
    auto v = verifier(s, "", true);
    json claims = validClaims();
    claims["mqtt_pub"] = json::array({"a/#"});
    claims["pub"] = json::array({"ignored"});
    auto id = v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow);
    ASSERT_TRUE(id.ok());
    EXPECT_TRUE(id->canPublish("a/b"));
    EXPECT_FALSE(id->subscribe.has_value());
}

TEST_F(JwtTest, MalformedTopicClaimsRefuseTheToken) {
    auto v = hs256();
    for (json bad : {json("a/#"), json::array({"a/#/b"}), json::array({1}), json::array({"$share/g/a"})}) {
        json claims = validClaims();
        claims["pub"] = bad;
        EXPECT_EQ(failure(v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow)), JwtError::kBadClaims) << bad;
    }
}

TEST_F(JwtTest, UsernameMustBeANonEmptyString) {
    auto v = hs256();
    for (json bad : {json(42), json(""), json::array({"alice"})}) {
        json claims = validClaims();
        claims["sub"] = bad;
        EXPECT_EQ(failure(v->verify(mint(JWT_ALG_HS256, kSecret, claims), kNow)), JwtError::kNoUsername) << bad;
    }
}

// ---- Setting up

TEST_F(JwtTest, CreateRefusesWhatCannotWork) {
    auto error = [](const config::JwtSettings& s) {
        auto v = JwtVerifier::create(s);
        EXPECT_FALSE(v.ok());
        return v.ok() ? std::string() : v.error();
    };
    config::JwtSettings none;
    EXPECT_EQ(error(none), "JWT needs jwt_key_file or jwt_secret_file");

    config::JwtSettings short_secret;
    short_secret.secret_file = dir_.write("short", "tooshort\n");
    EXPECT_EQ(error(short_secret),
              short_secret.secret_file + ": an HS256 secret needs at least 32 bytes, this one has 8");

    config::JwtSettings missing;
    missing.key_file = "/nonexistent/key.pem";
    EXPECT_EQ(error(missing), "/nonexistent/key.pem: No such file or directory");

    config::JwtSettings not_pem;
    not_pem.key_file = dir_.write("junk.pem", "hello");
    EXPECT_NE(error(not_pem).find("no PEM public key"), std::string::npos);

    config::JwtSettings small_rsa;
    small_rsa.key_file = dir_.write("rsa1024.pem", generate("RSA", nullptr, 1024).public_pem);
    EXPECT_NE(error(small_rsa).find("RSA key of 1024 bits"), std::string::npos);

    config::JwtSettings p384;
    p384.key_file = dir_.write("p384.pem", generate("EC", "P-384").public_pem);
    EXPECT_NE(error(p384).find("ES256 needs an EC key on P-256"), std::string::npos);

    config::JwtSettings mismatch;
    mismatch.key_file = dir_.write("rsa.pem", rsa_->public_pem);
    mismatch.algorithms = {"ES256"};
    EXPECT_EQ(error(mismatch), "ES256 is allowed but " + mismatch.key_file + " holds a key for RS256");

    config::JwtSettings no_secret;
    no_secret.key_file = mismatch.key_file;
    no_secret.algorithms = {"HS256"};
    EXPECT_EQ(error(no_secret), "HS256 is allowed but jwt_secret_file is not set");
}

TEST_F(JwtTest, OneVerifierServesManyThreads) {
    auto v = verifier({}, ec_->public_pem);
    std::string good = mint(JWT_ALG_ES256, ec_->private_pem, validClaims());
    std::string bad = good;
    bad[bad.size() - 2] = bad[bad.size() - 2] == 'A' ? 'B' : 'A';
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 100; ++i) {
                if (!v->verify(good, kNow).ok()) ++wrong;
                if (v->verify(bad, kNow).ok()) ++wrong;
            }
        });
    }
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace starling::auth
