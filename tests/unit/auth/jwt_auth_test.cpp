// JWT bearer tokens: tokens are minted at test time with libjwt, keys generated with OpenSSL.
#include "auth/jwt_auth.hpp"

#include <gtest/gtest.h>
#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
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

// A big-endian parameter of a key; `size` pads it with leading zeros (EC coordinates), 0 keeps it minimal.
std::string keyParam(EVP_PKEY* key, const char* name, int size = 0) {
    BIGNUM* bn = nullptr;
    EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1) << name;
    std::string out(static_cast<size_t>(size ? size : BN_num_bytes(bn)), '\0');
    auto* to = reinterpret_cast<unsigned char*>(out.data());
    size ? BN_bn2binpad(bn, to, size) : BN_bn2bin(bn, to);
    BN_free(bn);
    return out;
}

// The JWK (RFC 7517, RFC 7518 6.2/6.3) of an RSA or EC P-256 public key, as an identity provider publishes it.
json jwkOf(const std::string& public_pem, const std::string& kid) {
    BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    EXPECT_NE(key, nullptr);
    json jwk;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        jwk = {{"kty", "RSA"},
               {"n", base64Url(keyParam(key, OSSL_PKEY_PARAM_RSA_N))},
               {"e", base64Url(keyParam(key, OSSL_PKEY_PARAM_RSA_E))}};
    } else {
        jwk = {{"kty", "EC"},
               {"crv", "P-256"},
               {"x", base64Url(keyParam(key, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
               {"y", base64Url(keyParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
    }
    EVP_PKEY_free(key);
    if (!kid.empty()) jwk["kid"] = kid;
    return jwk;
}

json keySet(const std::vector<json>& keys) {
    return json{{"keys", keys}};
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

    // A verifier over a JWK Set file holding `set` (JSON text as given when it is a string).
    std::shared_ptr<const JwtVerifier> jwks(const json& set, config::JwtSettings settings = {},
                                            bool with_secret = false) {
        settings.jwks_file = dir_.write("jwks.json", set.is_string() ? set.get<std::string>() : set.dump(2), 0644);
        return verifier(settings, "", with_secret);
    }
    // create()'s error for a JWK Set file holding `set`.
    std::string jwksError(const json& set, config::JwtSettings settings = {}) {
        settings.jwks_file = dir_.write("bad.json", set.is_string() ? set.get<std::string>() : set.dump(2));
        auto v = JwtVerifier::create(settings);
        EXPECT_FALSE(v.ok()) << set;
        return v.ok() ? std::string() : v.error();
    }
    json rsaJwk(const std::string& kid = "rsa-1") const { return jwkOf(rsa_->public_pem, kid); }
    json ecJwk(const std::string& kid = "ec-1") const { return jwkOf(ec_->public_pem, kid); }
    std::string rs256(const json& claims, const json& headers) const {
        return mint(JWT_ALG_RS256, rsa_->private_pem, claims, headers);
    }
    std::string es256(const json& claims, const json& headers) const {
        return mint(JWT_ALG_ES256, ec_->private_pem, claims, headers);
    }

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
    EXPECT_EQ(error(none), "JWT needs jwt_key_file, jwt_jwks_file or jwt_secret_file");

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

// ---- JSON Web Key Sets (jwt_jwks_file)

TEST_F(JwtTest, JwksKeyIsChosenByKidForEachKeyType) {
    auto v = jwks(keySet({rsaJwk(), ecJwk()}));
    EXPECT_EQ(v->algorithms(), (std::vector<std::string>{"RS256", "ES256"}));
    EXPECT_TRUE(v->notes().empty());
    auto rsa = v->verify(rs256(validClaims(), {{"kid", "rsa-1"}}), kNow);
    ASSERT_TRUE(rsa.ok()) << rsa.error().message;
    EXPECT_EQ(rsa->username, "alice");
    auto ec = v->verify(es256(validClaims(), {{"kid", "ec-1"}}), kNow);
    ASSERT_TRUE(ec.ok()) << ec.error().message;
    EXPECT_EQ(ec->username, "alice");
}

TEST_F(JwtTest, JwksUnknownOrMissingKidIsRefused) {
    auto v = jwks(keySet({rsaJwk(), ecJwk()}));
    auto unknown = v->verify(rs256(validClaims(), {{"kid", "rsa-2"}}), kNow);
    EXPECT_EQ(failure(unknown), JwtError::kUnknownKey);
    EXPECT_EQ(unknown.error().message, "no key with kid \"rsa-2\" in the key set");
    // Two keys: the token must say which.
    auto no_kid = v->verify(rs256(validClaims(), json::object()), kNow);
    EXPECT_EQ(failure(no_kid), JwtError::kUnknownKey);
    EXPECT_EQ(no_kid.error().message, "token has no 'kid' and the key set holds 2 keys");
    EXPECT_EQ(failure(v->verify(rs256(validClaims(), {{"kid", 7}}), kNow)), JwtError::kMalformed);
}

TEST_F(JwtTest, JwksKeyOfAnotherTypeThanTheAlgorithmIsRefused) {
    auto v = jwks(keySet({rsaJwk(), ecJwk()}));
    // The RSA key's kid on an ES256 token, and the other way round.
    auto es_on_rsa = v->verify(es256(validClaims(), {{"kid", "rsa-1"}}), kNow);
    EXPECT_EQ(failure(es_on_rsa), JwtError::kAlgorithmNotAllowed);
    EXPECT_EQ(es_on_rsa.error().message, "key \"rsa-1\" is for RS256, the token says ES256");
    EXPECT_EQ(failure(v->verify(rs256(validClaims(), {{"kid", "ec-1"}}), kNow)), JwtError::kAlgorithmNotAllowed);
    // Algorithm confusion: an HS256 token "signed" with the public key is never checked against it.
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_HS256, rsa_->public_pem, validClaims(), {{"kid", "rsa-1"}}), kNow)),
              JwtError::kAlgorithmNotAllowed);
    auto with_secret = jwks(keySet({rsaJwk(), ecJwk()}), {}, true);
    EXPECT_EQ(with_secret->algorithms(), (std::vector<std::string>{"HS256", "RS256", "ES256"}));
    EXPECT_EQ(
        failure(with_secret->verify(mint(JWT_ALG_HS256, rsa_->public_pem, validClaims(), {{"kid", "rsa-1"}}), kNow)),
        JwtError::kBadSignature);
    // alg none stays refused.
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_NONE, "", validClaims(), {{"kid", "rsa-1"}}), kNow)),
              JwtError::kAlgorithmNotAllowed);
}

TEST_F(JwtTest, JwksSingleKeyNeedsNoKid) {
    auto unnamed = jwks(keySet({rsaJwk("")}));
    EXPECT_EQ(unnamed->algorithms(), std::vector<std::string>{"RS256"});
    auto id = unnamed->verify(rs256(validClaims(), json::object()), kNow);
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_EQ(id->username, "alice");
    // A kid in the token must still name the key: the set's only key has none here.
    EXPECT_EQ(failure(unnamed->verify(rs256(validClaims(), {{"kid", "rsa-1"}}), kNow)), JwtError::kUnknownKey);

    auto named = jwks(keySet({ecJwk()}));
    EXPECT_TRUE(named->verify(es256(validClaims(), json::object()), kNow).ok());
    EXPECT_TRUE(named->verify(es256(validClaims(), {{"kid", "ec-1"}}), kNow).ok());
    EXPECT_EQ(failure(named->verify(es256(validClaims(), {{"kid", "ec-2"}}), kNow)), JwtError::kUnknownKey);
}

TEST_F(JwtTest, JwksTokensKeepEveryOtherCheck) {
    config::JwtSettings s;
    s.issuer = "https://idp.example";
    s.audience = "starling";
    auto v = jwks(keySet({rsaJwk(), ecJwk()}), s);
    json claims = validClaims();
    claims["iss"] = "https://idp.example";
    claims["aud"] = "starling";
    claims["pub"] = json::array({"devices/alice/#"});
    auto id = v->verify(es256(claims, {{"kid", "ec-1"}}), kNow);
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_FALSE(id->canPublish("devices/bob/x"));

    json expired = claims;
    expired["exp"] = kNowSeconds - 1;
    EXPECT_EQ(failure(v->verify(rs256(expired, {{"kid", "rsa-1"}}), kNow)), JwtError::kExpired);
    json early = claims;
    early["nbf"] = kNowSeconds + 60;
    EXPECT_EQ(failure(v->verify(rs256(early, {{"kid", "rsa-1"}}), kNow)), JwtError::kNotYetValid);
    json other_iss = claims;
    other_iss["iss"] = "https://evil.example";
    EXPECT_EQ(failure(v->verify(rs256(other_iss, {{"kid", "rsa-1"}}), kNow)), JwtError::kWrongIssuer);
    json other_aud = claims;
    other_aud["aud"] = "grafana";
    EXPECT_EQ(failure(v->verify(rs256(other_aud, {{"kid", "rsa-1"}}), kNow)), JwtError::kWrongAudience);
    json no_user = claims;
    no_user.erase("sub");
    EXPECT_EQ(failure(v->verify(rs256(no_user, {{"kid", "rsa-1"}}), kNow)), JwtError::kNoUsername);
    json bad_topics = claims;
    bad_topics["subs"] = json::array({"a/#/b"});
    EXPECT_EQ(failure(v->verify(rs256(bad_topics, {{"kid", "rsa-1"}}), kNow)), JwtError::kBadClaims);
    // Signed by another key under a kid of the set.
    KeyPair other = generate("RSA", nullptr);
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_RS256, other.private_pem, claims, {{"kid", "rsa-1"}}), kNow)),
              JwtError::kBadSignature);
}

TEST_F(JwtTest, JwksKeysForSomethingElseAreLeftOutWithANote) {
    json enc = rsaJwk("enc-1");
    enc["use"] = "enc";
    json p384 = jwkOf(generate("EC", "P-384").public_pem, "p384");
    p384["crv"] = "P-384";  // jwkOf writes P-256; the coordinates are the P-384 key's
    json rs512 = rsaJwk("rs512");
    rs512["alg"] = "RS512";
    json wrap = ecJwk("wrap");
    wrap["key_ops"] = json::array({"wrapKey"});
    json oct = {{"kty", "oct"}, {"kid", "hmac"}, {"k", base64Url(kSecret)}};
    json okp = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", base64Url(std::string(32, 'x'))}};
    json sig = rsaJwk("sig-1");
    sig["use"] = "sig";
    sig["alg"] = "RS256";
    sig["key_ops"] = json::array({"verify"});
    auto v = jwks(keySet({enc, p384, rs512, wrap, oct, okp, sig}));
    EXPECT_EQ(v->algorithms(), std::vector<std::string>{"RS256"});
    ASSERT_EQ(v->notes().size(), 6u);
    const std::string path = dir_.path() + "/jwks.json";
    EXPECT_EQ(v->notes()[0], path + ": key 'enc-1' ignored: 'use' is \"enc\", not \"sig\"");
    EXPECT_EQ(v->notes()[1], path + ": key 'p384' ignored: EC key on curve \"P-384\"; ES256 needs P-256");
    EXPECT_EQ(v->notes()[2], path + ": key 'rs512' ignored: 'alg' is \"RS512\"; this RSA key could only serve RS256");
    EXPECT_EQ(v->notes()[3], path + ": key 'wrap' ignored: 'key_ops' does not include \"verify\"");
    EXPECT_EQ(v->notes()[4],
              path + ": key 'hmac' ignored: 'kty' \"oct\" is not supported (RSA for RS256, EC for ES256)");
    EXPECT_EQ(v->notes()[5], path + ": key #6 ignored: 'kty' \"OKP\" is not supported (RSA for RS256, EC for ES256)");
    EXPECT_TRUE(v->verify(rs256(validClaims(), {{"kid", "sig-1"}}), kNow).ok());
    // Left-out keys cannot be chosen, and a secret in the set never becomes an HMAC key.
    EXPECT_EQ(failure(v->verify(rs256(validClaims(), {{"kid", "enc-1"}}), kNow)), JwtError::kUnknownKey);
    EXPECT_EQ(failure(v->verify(mint(JWT_ALG_HS256, kSecret, validClaims(), {{"kid", "hmac"}}), kNow)),
              JwtError::kAlgorithmNotAllowed);
}

TEST_F(JwtTest, JwksPrivateParametersAreNotNeeded) {
    // Some tools export the private key as a JWK; only its public half is used.
    json jwk = rsaJwk();
    jwk["d"] = base64Url("not really the private exponent");
    auto v = jwks(keySet({jwk}));
    EXPECT_TRUE(v->verify(rs256(validClaims(), {{"kid", "rsa-1"}}), kNow).ok());
}

TEST_F(JwtTest, JwksFilesThatCannotWorkAreRefused) {
    const std::string path = dir_.path() + "/bad.json";
    EXPECT_EQ(jwksError(json("{\"keys\": [")).rfind(path + ": not a JSON Web Key Set: parse error at line 1", 0), 0u)
        << jwksError(json("{\"keys\": ["));
    EXPECT_EQ(jwksError(json::array({rsaJwk()})), path + ": not a JSON Web Key Set: not a JSON object");
    EXPECT_EQ(jwksError(rsaJwk()), path + ": not a JSON Web Key Set: no \"keys\" array");
    EXPECT_EQ(jwksError(json{{"keys", json::array()}}), path + ": the key set holds no keys");

    // No usable key: the error says why each one was left out.
    json small = jwkOf(generate("RSA", nullptr, 1024).public_pem, "small");
    EXPECT_EQ(jwksError(keySet({small})),
              path + ": no usable key in the set (key 'small': RSA key of 1024 bits; RS256 needs at least 2048)");
    json p384 = ecJwk("p384");
    p384["crv"] = "P-384";
    json enc = rsaJwk("enc");
    enc["use"] = "enc";
    EXPECT_EQ(jwksError(keySet({p384, enc})),
              path +
                  ": no usable key in the set (key 'p384': EC key on curve \"P-384\"; ES256 needs P-256; key 'enc': "
                  "'use' is \"enc\", not \"sig\")");

    // A supported key with broken parameters is an error in the file, not a key to skip.
    json no_n = rsaJwk();
    no_n.erase("n");
    EXPECT_EQ(jwksError(keySet({no_n, ecJwk()})), path + ": key 'rsa-1': RSA key: 'n' is missing or not a string");
    json bad_e = rsaJwk();
    bad_e["e"] = "AQ+B";
    EXPECT_EQ(jwksError(keySet({bad_e})), path + ": key 'rsa-1': RSA key: 'e' is not base64url");
    json even_e = rsaJwk();
    even_e["e"] = base64Url(std::string("\x01\x00\x00", 3));
    EXPECT_EQ(jwksError(keySet({even_e})), path + ": key 'rsa-1': RSA key: 'e' is not a valid public exponent");
    json off_curve = ecJwk();
    std::string y = off_curve["y"].get<std::string>();
    y[5] = y[5] == 'A' ? 'B' : 'A';
    off_curve["y"] = y;
    EXPECT_EQ(jwksError(keySet({off_curve})).rfind(path + ": key 'ec-1': EC key is not valid: ", 0), 0u);
    json short_x = ecJwk();
    short_x["x"] = base64Url(std::string(31, 'x'));
    EXPECT_EQ(jwksError(keySet({short_x})), path + ": key 'ec-1': EC key: 'x' and 'y' must be 32 bytes each on P-256");
    json no_kty = rsaJwk();
    no_kty.erase("kty");
    EXPECT_EQ(jwksError(keySet({no_kty})), path + ": key 'rsa-1': 'kty' is missing or not a string");
    EXPECT_EQ(jwksError(keySet({json("rsa")})), path + ": key #1: not a JSON object");
    json numeric_kid = rsaJwk();
    numeric_kid["kid"] = 1;
    EXPECT_EQ(jwksError(keySet({numeric_kid})), path + ": key #1: 'kid' is not a non-empty string");

    // Keys a token could not tell apart.
    EXPECT_EQ(jwksError(keySet({rsaJwk("k"), ecJwk("k")})), path + ": two usable keys have the kid 'k'");
    EXPECT_EQ(jwksError(keySet({rsaJwk(), ecJwk("")})),
              path +
                  ": the set has 2 usable keys and one of them has no 'kid': each needs one so that a token "
                  "can name it");

    config::JwtSettings missing;
    missing.jwks_file = "/nonexistent/jwks.json";
    auto v = JwtVerifier::create(missing);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error(), "/nonexistent/jwks.json: No such file or directory");
}

TEST_F(JwtTest, JwksAndTheAllowedAlgorithms) {
    config::JwtSettings es_only;
    es_only.algorithms = {"ES256"};
    EXPECT_EQ(jwksError(keySet({rsaJwk()}), es_only),
              "ES256 is allowed but " + dir_.path() + "/bad.json holds no usable EC P-256 key");
    // RS256 only: ES256 tokens are refused before any key is looked up.
    config::JwtSettings rs_only;
    rs_only.algorithms = {"RS256"};
    auto v = jwks(keySet({rsaJwk(), ecJwk()}), rs_only);
    EXPECT_EQ(v->algorithms(), std::vector<std::string>{"RS256"});
    EXPECT_EQ(failure(v->verify(es256(validClaims(), {{"kid", "ec-1"}}), kNow)), JwtError::kAlgorithmNotAllowed);
    EXPECT_TRUE(v->verify(rs256(validClaims(), {{"kid", "rsa-1"}}), kNow).ok());

    // With a shared secret too: HS256 tokens use the secret, whatever their kid.
    auto both = jwks(keySet({rsaJwk()}), {}, true);
    EXPECT_EQ(both->algorithms(), (std::vector<std::string>{"HS256", "RS256"}));
    EXPECT_TRUE(both->verify(mint(JWT_ALG_HS256, kSecret, validClaims(), {{"kid", "rsa-1"}}), kNow).ok());
    EXPECT_TRUE(both->verify(rs256(validClaims(), {{"kid", "rsa-1"}}), kNow).ok());

    // Not with jwt_key_file (the config refuses it first; create() too).
    config::JwtSettings with_key;
    with_key.key_file = dir_.write("key.pem", rsa_->public_pem);
    EXPECT_EQ(jwksError(keySet({rsaJwk()}), with_key), "jwt_key_file and jwt_jwks_file cannot be combined");
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
