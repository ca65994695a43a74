// The config checker: one test per finding, and what a safe configuration looks like.
#include "auth/config_check.hpp"

#include <gtest/gtest.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <cstdlib>

#include <algorithm>

#include "auth/password_hash.hpp"
#include "temp_dir.hpp"

namespace starling::auth {
namespace {

using Severity = Finding::Severity;

std::string hashed(std::string_view password) {
    return hashPassword(password, HashType::kSha512Pbkdf2, 20000).value_or("");
}

class ConfigCheck : public ::testing::Test {
  protected:
    std::vector<Finding> check(const std::string& text) {
        findings_ = checkConfig(config::parseConfig(text, "t.conf"));
        return findings_;
    }
    // The one finding whose message contains `needle`; fails the test unless there is exactly one.
    Finding find(const std::string& needle) {
        std::vector<Finding> hits;
        std::copy_if(findings_.begin(), findings_.end(), std::back_inserter(hits),
                     [&](const Finding& f) { return f.message.find(needle) != std::string::npos; });
        EXPECT_EQ(hits.size(), 1u) << "findings for '" << needle << "':\n" << dump();
        return hits.empty() ? Finding{Severity::kWarning, "", ""} : hits.front();
    }
    bool mentions(const std::string& needle) const {
        return std::any_of(findings_.begin(), findings_.end(),
                           [&](const Finding& f) { return f.message.find(needle) != std::string::npos; });
    }
    std::string dump() const {
        std::string out;
        for (const auto& f : findings_)
            out += f.format() + "\n";
        return out;
    }

    testing::TempDir dir_;
    std::vector<Finding> findings_;
};

// ---- Safe configurations

TEST_F(ConfigCheck, DefaultConfigurationIsClean) {
    // No listener: loopback only, anonymous allowed, as Mosquitto 2.
    EXPECT_TRUE(check("").empty()) << dump();
}

TEST_F(ConfigCheck, LoopbackListenersMayBeAnonymousAndPlain) {
    EXPECT_TRUE(
        check("listener 1883 127.0.0.1\nlistener 1884 ::1\nlistener 1885 localhost\nallow_anonymous true\n").empty())
        << dump();
}

TEST_F(ConfigCheck, AProtectedSetupHasOnlyTheTlsWarning) {
    std::string pw = dir_.write("pw", "alice:" + hashed("a long passphrase") + "\n");
    std::string acl = dir_.write("acl", "user alice\ntopic readwrite alice/#\n");
    check("listener 1883\npassword_file " + pw + "\nacl_file " + acl + "\n");
    ASSERT_EQ(findings_.size(), 1u) << dump();
    EXPECT_NE(findings_[0].message.find("without TLS"), std::string::npos);
    EXPECT_FALSE(hasErrors(findings_));
}

// ---- Listeners

TEST_F(ConfigCheck, NetworkListenerWithoutTlsIsAWarning) {
    check("listener 1883\nlistener 8883 192.0.2.10\n");
    ASSERT_EQ(findings_.size(), 2u) << dump();
    EXPECT_EQ(findings_[0].severity, Severity::kWarning);
    EXPECT_EQ(findings_[0].where, "t.conf:1");
    EXPECT_EQ(findings_[0].format(),
              "warning: t.conf:1: listener on port 1883 (all addresses) is reachable from the network without TLS: "
              "passwords, tokens and messages travel in clear");
    EXPECT_EQ(findings_[1].where, "t.conf:2");
}

TEST_F(ConfigCheck, NetworkListenerWithTlsIsFine) {
    // A real certificate, valid for ten years, made with the openssl CLI.
    std::string key = dir_.write("server.key", "", 0600);
    std::string crt = dir_.write("server.crt", "", 0644);
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj /CN=t "
        "-keyout " +
        key + " -out " + crt + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    check("listener 8883\ncertfile " + crt + "\nkeyfile " + key + "\n");
    EXPECT_TRUE(findings_.empty()) << dump();
}

TEST_F(ConfigCheck, ExpiredOrMissingCertificateIsAnError) {
    std::string key = dir_.write("server.key", "", 0600);
    check("listener 8883\ncertfile /nonexistent/server.crt\nkeyfile " + key + "\n");
    ASSERT_EQ(findings_.size(), 1u) << dump();
    EXPECT_EQ(findings_[0].severity, Severity::kError);
    EXPECT_NE(findings_[0].message.find("cannot be read"), std::string::npos);
}

TEST_F(ConfigCheck, TlsKeyReadableByOthersIsAnErrorOncePerFile) {
    std::string key = dir_.write("server.key", "-----BEGIN PRIVATE KEY-----\n", 0644);
    check("listener 8883\ncertfile /c.pem\nkeyfile " + key + "\nlistener 8884 127.0.0.1\ncertfile /c.pem\nkeyfile " +
          key + "\n");
    Finding f = find("TLS key file");
    EXPECT_EQ(f.severity, Severity::kError);
    EXPECT_EQ(f.where, "t.conf:1");
}

TEST_F(ConfigCheck, AnonymousAccessOnANetworkListenerWithoutAclIsAnError) {
    check("listener 1883 0.0.0.0\nallow_anonymous true\n");
    Finding f = find("anonymous");
    EXPECT_EQ(f.severity, Severity::kError);
    EXPECT_EQ(f.where, "t.conf:1");
    EXPECT_TRUE(hasErrors(findings_));
}

TEST_F(ConfigCheck, AnonymousAccessOnANetworkListenerWithAclIsAWarning) {
    std::string acl = dir_.write("acl", "topic read public/#\n");
    check("listener 1883\nallow_anonymous true\nacl_file " + acl + "\n");
    EXPECT_EQ(find("anonymous").severity, Severity::kWarning);
    EXPECT_FALSE(hasErrors(findings_)) << dump();
}

TEST_F(ConfigCheck, AListenerWithoutAllowAnonymousIsClosedToAnonymousClients) {
    check("listener 1883\n");
    EXPECT_FALSE(mentions("anonymous")) << dump();
}

// ---- ACL

TEST_F(ConfigCheck, AclLettingEveryoneWriteEverythingIsAnError) {
    std::string acl = dir_.write("acl", "pattern readwrite #\n");
    check("acl_file " + acl + "\n");
    Finding f = find("every client publish to every topic");
    EXPECT_EQ(f.severity, Severity::kError);
    EXPECT_EQ(f.where, acl);
}

TEST_F(ConfigCheck, AnonymousRulesWritingEverythingMatterWhenAnonymousClientsReachTheNetwork) {
    std::string acl = dir_.write("acl", "topic write #\n");
    check("listener 1883\nallow_anonymous true\nacl_file " + acl + "\n");
    EXPECT_EQ(find("anonymous clients, who may connect from the network").severity, Severity::kError);
    check("listener 1883 127.0.0.1\nallow_anonymous true\nacl_file " + acl + "\n");
    EXPECT_TRUE(findings_.empty()) << dump();
}

TEST_F(ConfigCheck, UnusableAclFileIsAnError) {
    std::string acl = dir_.write("acl", "user bob\ntopic sometimes a/b\n");
    check("acl_file " + acl + "\n");
    Finding f = find("acl file cannot be used");
    EXPECT_EQ(f.severity, Severity::kError);
    EXPECT_NE(f.message.find(acl + ":2: access type"), std::string::npos) << f.message;

    check("acl_file " + dir_.path() + "/missing\n");
    EXPECT_EQ(find("No such file").severity, Severity::kError);
}

// ---- Passwords

TEST_F(ConfigCheck, ClearTextPasswordsAreAnError) {
    std::string pw = dir_.write("pw", "alice:" + hashed("x") + "\ncarol:hunter2\n");
    check("password_file " + pw + "\n");
    Finding f = find("not password hashes");
    EXPECT_EQ(f.severity, Severity::kError);
    EXPECT_NE(f.message.find("'carol' (line 2)"), std::string::npos) << f.message;
}

TEST_F(ConfigCheck, WeakHashesAreAWarning) {
    std::string weak;
    for (int i = 0; i < 7; ++i)
        weak += "u" + std::to_string(i) + ":" + hashPassword("x", HashType::kSha512Pbkdf2, 101).value_or("") + "\n";
    std::string pw = dir_.write("pw", weak);
    check("password_file " + pw + "\n");
    Finding f = find("weak hashes");
    EXPECT_EQ(f.severity, Severity::kWarning);
    EXPECT_NE(f.message.find("PBKDF2-SHA512 with 101 iterations"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("'u4' (line 5) and 2 more"), std::string::npos) << f.message;
}

TEST_F(ConfigCheck, WellKnownDefaultCredentialsAreAnError) {
    std::string pw = dir_.write("pw", "admin:" + hashed("admin") + "\nguest:" + hashed("guest") +
                                          "\nbob:" + hashed("admin") + "\nroot:" + hashed("s3cure!") + "\n");
    check("password_file " + pw + "\n");
    EXPECT_EQ(find("user 'admin' has the well-known password 'admin'").severity, Severity::kError);
    EXPECT_EQ(find("user 'guest' has the well-known password 'guest'").severity, Severity::kError);
    EXPECT_FALSE(mentions("'root'")) << dump();
    EXPECT_FALSE(mentions("'bob'")) << dump();
}

TEST_F(ConfigCheck, MissingOrCorruptPasswordFileIsAnError) {
    check("password_file " + dir_.path() + "/missing\n");
    EXPECT_EQ(find("password file cannot be used").severity, Severity::kError);
    std::string pw = dir_.write("pw", "alice\n");
    check("password_file " + pw + "\n");
    EXPECT_NE(find("password file cannot be used").message.find(pw + ":1: user 'alice' has no password hash"),
              std::string::npos);
}

// ---- File permissions

TEST_F(ConfigCheck, PasswordAndAclFilesReadableByOthersAreAWarning) {
    std::string pw = dir_.write("pw", "alice:" + hashed("x") + "\n", 0644);
    std::string acl = dir_.write("acl", "user alice\ntopic a\n", 0644);
    check("password_file " + pw + "\nacl_file " + acl + "\n");
    EXPECT_EQ(find("password file is readable by every local user").severity, Severity::kWarning);
    EXPECT_EQ(find("acl file is readable by every local user").severity, Severity::kWarning);

    dir_.write("pw", "alice:" + hashed("x") + "\n", 0640);
    dir_.write("acl", "user alice\ntopic a\n", 0600);
    check("password_file " + pw + "\nacl_file " + acl + "\n");
    EXPECT_TRUE(findings_.empty()) << dump();
}

TEST_F(ConfigCheck, JwtSecretReadableByOthersIsAnError) {
    std::string secret = dir_.write("secret", std::string(40, 'k'), 0604);
    check("jwt_secret_file " + secret + "\n");
    Finding f = find("JWT secret file is readable");
    EXPECT_EQ(f.severity, Severity::kError);
    EXPECT_EQ(f.where, secret);
}

TEST_F(ConfigCheck, JwtPrivateKeyReadableByOthersIsAnErrorButAPublicKeyIsFine) {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    auto pem = [&](bool priv) {
        BIO* bio = BIO_new(BIO_s_mem());
        priv ? PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr)
             : PEM_write_bio_PUBKEY(bio, key);
        char* data = nullptr;
        long n = BIO_get_mem_data(bio, &data);
        std::string s(data, static_cast<size_t>(n));
        BIO_free(bio);
        return s;
    };
    std::string pub = dir_.write("pub.pem", pem(false), 0644);
    std::string priv = dir_.write("priv.pem", pem(true), 0644);
    EVP_PKEY_free(key);
    check("jwt_key_file " + pub + "\n");
    EXPECT_TRUE(findings_.empty()) << dump();
    check("jwt_key_file " + priv + "\n");
    EXPECT_EQ(find("holds a private key").severity, Severity::kError);
}

TEST_F(ConfigCheck, JwksFileReadableByOthersIsFineUnlessItHoldsPrivateKeys) {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    auto coordinate = [&](const char* name) {
        BIGNUM* bn = nullptr;
        EVP_PKEY_get_bn_param(key, name, &bn);
        std::string raw(32, '\0');
        BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(raw.data()), 32);
        BN_free(bn);
        std::string b64(64, '\0');
        b64.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                                       reinterpret_cast<const unsigned char*>(raw.data()), 32)));
        for (char& c : b64)
            c = c == '+' ? '-' : c == '/' ? '_' : c;
        while (!b64.empty() && b64.back() == '=')
            b64.pop_back();
        return b64;
    };
    std::string jwk = R"({"kty":"EC","crv":"P-256","kid":"k1","x":")" + coordinate(OSSL_PKEY_PARAM_EC_PUB_X) +
                      R"(","y":")" + coordinate(OSSL_PKEY_PARAM_EC_PUB_Y) + "\"";
    EVP_PKEY_free(key);
    std::string pub = dir_.write("jwks.json", "{\"keys\":[" + jwk + "}]}", 0644);
    check("jwt_jwks_file " + pub + "\n");
    EXPECT_TRUE(findings_.empty()) << dump();
    // `d` here is not even the right private key: holding one at all is what matters.
    std::string priv = dir_.write("private.json", "{\"keys\":[" + jwk + R"(,"d":"AAAA"}]})", 0644);
    check("jwt_jwks_file " + priv + "\n");
    Finding f = find("JWT key set holds private key material");
    EXPECT_EQ(f.severity, Severity::kError);
    EXPECT_EQ(f.where, priv);
    dir_.write("private.json", "{\"keys\":[" + jwk + R"(,"d":"AAAA"}]})", 0600);
    check("jwt_jwks_file " + priv + "\n");
    EXPECT_TRUE(findings_.empty()) << dump();

    check("jwt_jwks_file " + dir_.write("empty.json", R"({"keys":[]})") + "\n");
    EXPECT_NE(find("JWT settings cannot be used").message.find("the key set holds no keys"), std::string::npos);
}

TEST_F(ConfigCheck, UnusableJwtSettingsAreAnError) {
    std::string secret = dir_.write("secret", "short");
    check("jwt_secret_file " + secret + "\n");
    EXPECT_EQ(find("JWT settings cannot be used").severity, Severity::kError);
}

// ---- Helpers

TEST(LoopbackAddress, RecognisesLoopbackLiteralsAndLocalhost) {
    for (const char* a : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "localhost"})
        EXPECT_TRUE(isLoopbackAddress(a)) << a;
    for (const char* a :
         {"", "0.0.0.0", "::", "192.168.1.1", "10.0.0.1", "fe80::1%eth0", "broker.example", "128.0.0.1"})
        EXPECT_FALSE(isLoopbackAddress(a)) << a;
}

}  // namespace
}  // namespace starling::auth
