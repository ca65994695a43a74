// SCRAM-SHA-256 against the RFC 7677 section 3 example, and the verifier format.
#include "auth/scram.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

namespace starling::auth {
namespace {

std::string fromBase64(const std::string& b64) {
    std::string out(b64.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
    size_t len = static_cast<size_t>(n);
    for (size_t i = b64.size(); i > 0 && b64[i - 1] == '='; --i)
        --len;
    out.resize(len);
    return out;
}

ScramServer::Lookup rfcUser() {
    return [](std::string_view user) -> std::optional<ScramCredential> {
        if (user != "user") return std::nullopt;
        return scramCredential("pencil", fromBase64("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
    };
}

TEST(Scram, Rfc7677Example) {
    ScramServer s(rfcUser(), "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    auto first = s.clientFirst("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    ASSERT_EQ(first.status, ScramServer::Step::kContinue) << first.error;
    EXPECT_EQ(first.data, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    auto final = s.clientFinal(
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    ASSERT_EQ(final.status, ScramServer::Step::kSuccess) << final.error;
    EXPECT_EQ(final.data, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    EXPECT_EQ(final.username, "user");
}

TEST(Scram, WrongProofFails) {
    ScramServer s(rfcUser(), "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    s.clientFirst("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    auto final = s.clientFinal(
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    EXPECT_EQ(final.status, ScramServer::Step::kFailure);
    EXPECT_NE(final.error.find("wrong password"), std::string::npos);
}

TEST(Scram, UnknownUserLooksTheSameUntilTheEnd) {
    ScramServer s(rfcUser(), "abc");
    auto first = s.clientFirst("n,,n=nobody,r=xyz");
    ASSERT_EQ(first.status, ScramServer::Step::kContinue);
    EXPECT_NE(first.data.find(",s="), std::string::npos);
    EXPECT_NE(first.data.find(",i=4096"), std::string::npos);
    auto final = s.clientFinal("c=biws,r=xyzabc,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    EXPECT_EQ(final.status, ScramServer::Step::kFailure);
}

TEST(Scram, MalformedMessagesFail) {
    for (const char* bad :
         {"p=tls-unique,,n=user,r=abc", "n,a=admin,n=user,r=abc", "n,,r=abc", "n,,n=user", "", "n,,n=us=er,r=a"}) {
        ScramServer s(rfcUser(), "x");
        EXPECT_EQ(s.clientFirst(bad).status, ScramServer::Step::kFailure) << bad;
    }
    ScramServer s(rfcUser(), "x");
    ASSERT_EQ(s.clientFirst("n,,n=user,r=abc").status, ScramServer::Step::kContinue);
    EXPECT_EQ(s.clientFinal("c=biws,r=WRONG,p=AAAA").status, ScramServer::Step::kFailure);
}

TEST(ScramVerifier, RoundTripsAndChecksPasswords) {
    auto v = makeScramVerifier("s3cret", 4096);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->starts_with("$scram-sha-256$4096$"));
    EXPECT_TRUE(verifyScramVerifier(*v, "s3cret"));
    EXPECT_FALSE(verifyScramVerifier(*v, "s3cre"));
    auto c = parseScramVerifier(*v);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->stored_key.size(), 32u);
    EXPECT_FALSE(parseScramVerifier("$scram-sha-256$x$y$z$w"));
    EXPECT_FALSE(parseScramVerifier("$7$101$abc$def"));
}

}  // namespace
}  // namespace starling::auth
