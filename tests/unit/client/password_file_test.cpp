#include <gtest/gtest.h>

#include "auth/password_file.hpp"
#include "auth/password_hash.hpp"

using namespace starling::auth;

// Lines written by mosquitto_passwd 2.0.11 (passwords "secret" and "pw2").
constexpr const char* kMosquittoFile =
    "alice:$7$101$gM9cbAdws8q09DWl$lmff7OPu/"
    "8RcKT9F+TEO69YgvFZEhn9KjyB9gn0l7fLPlEk4bCoHXHMDaRYPqeF9RCsgmTckWjSloLBtkeFCzg==\n"
    "bob:$6$SJINpGaaYjnm1Sqy$/8ewNFvrP79ghuSKtcjO5HGa0dihxNm5/o/X0x1Ur97uRU5GiwLqOX9/"
    "h16YQ2B5e0BnpeFK+v1Wz9X2cyoujg==\n";

TEST(PasswordFile, AcceptsWhatMosquittoPasswdWrote) {
    auto f = PasswordFile::parse(kMosquittoFile, "pw");
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_EQ(f->entries().size(), 2u);
    EXPECT_TRUE(f->verify("alice", "secret"));
    EXPECT_TRUE(f->verify("bob", "pw2"));
    EXPECT_FALSE(f->verify("alice", "Secret"));
    EXPECT_FALSE(f->verify("carol", "secret"));
}

TEST(PasswordFile, SkipsCommentsAndBlankLinesAndReportsCorruptLines) {
    auto f = PasswordFile::parse("# users\n\nalice:$6$abc$def\n", "pw");
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->entries().size(), 1u);
    auto bad = PasswordFile::parse("alice:$6$abc$def\nbob\n", "pw");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error(), "pw:2: corrupt password line");
}

TEST(PasswordHash, EveryTypeRoundTrips) {
    for (auto type : {HashType::kSha512, HashType::kSha512Pbkdf2, HashType::kArgon2id}) {
        auto h = hashPassword("s3cr3t", type, 1);
        ASSERT_TRUE(h.has_value());
        EXPECT_TRUE(verifyPassword(*h, "s3cr3t")) << *h;
        EXPECT_FALSE(verifyPassword(*h, "s3cr3u")) << *h;
    }
}

TEST(PasswordHash, Pbkdf2UsesMosquittoLayout) {
    auto h = hashPassword("x", HashType::kSha512Pbkdf2, kDefaultPbkdf2Iterations);
    ASSERT_TRUE(h.has_value());
    // $7$101$ + 16 chars of salt + $ + 88 chars of hash
    EXPECT_EQ(h->rfind("$7$101$", 0), 0u);
    EXPECT_EQ(h->size(), 7u + 16 + 1 + 88);
}

TEST(PasswordHash, RefusesGarbage) {
    EXPECT_FALSE(verifyPassword("plaintext", "plaintext"));
    EXPECT_FALSE(verifyPassword("$7$abc$def$ghi", "x"));
    EXPECT_FALSE(verifyPassword("$6$$", "x"));
}

TEST(PasswordLine, SplitsLikeMosquitto) {
    auto p = splitPasswordLine("  alice : $6$a$b \n");
    EXPECT_EQ(p.username, "alice");
    EXPECT_EQ(p.hash, "$6$a$b");
}
