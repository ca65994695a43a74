// The password file as CONNECT sees it: who exists, whose password matches, what the checker should hear.
#include "auth/password_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "auth/password_hash.hpp"
#include "auth/scram.hpp"
#include "temp_dir.hpp"

namespace starling::auth {
namespace {

using Check = PasswordStore::Check;

// Written by mosquitto_passwd 2.0.11: alice/"secret" ($7$, 101 iterations), bob/"pw2" ($6$).
constexpr const char* kMosquittoFile =
    "alice:$7$101$gM9cbAdws8q09DWl$lmff7OPu/"
    "8RcKT9F+TEO69YgvFZEhn9KjyB9gn0l7fLPlEk4bCoHXHMDaRYPqeF9RCsgmTckWjSloLBtkeFCzg==\n"
    "bob:$6$SJINpGaaYjnm1Sqy$/8ewNFvrP79ghuSKtcjO5HGa0dihxNm5/o/X0x1Ur97uRU5GiwLqOX9/"
    "h16YQ2B5e0BnpeFK+v1Wz9X2cyoujg==\n";

std::string hashed(std::string_view password, HashType type, int iterations) {
    auto h = hashPassword(password, type, iterations);
    EXPECT_TRUE(h.has_value());
    return h.value_or("");
}

std::shared_ptr<const PasswordStore> parse(const std::string& text) {
    auto store = PasswordStore::parse(text, "pw");
    EXPECT_TRUE(store.ok()) << store.error();
    return store.ok() ? *store : nullptr;
}

TEST(PasswordStore, ChecksWhatMosquittoPasswdWrote) {
    auto store = parse(kMosquittoFile);
    EXPECT_EQ(store->size(), 2u);
    EXPECT_EQ(store->check("alice", "secret"), Check::kOk);
    EXPECT_EQ(store->check("bob", "pw2"), Check::kOk);
    EXPECT_EQ(store->check("alice", "Secret"), Check::kBadPassword);
    EXPECT_EQ(store->check("alice", ""), Check::kBadPassword);
    EXPECT_EQ(store->check("carol", "secret"), Check::kUnknownUser);
    EXPECT_TRUE(store->hasUser("bob"));
    EXPECT_FALSE(store->hasUser("Bob"));
}

TEST(PasswordStore, ChecksEveryHashEncoding) {
    auto store = parse("a:" + hashed("pa", HashType::kSha512, 0) + "\n" +            //
                       "b:" + hashed("pb", HashType::kSha512Pbkdf2, 20000) + "\n" +  //
                       "c:" + hashed("pc", HashType::kArgon2id, 3) + "\n" +          //
                       "d:" + makeScramVerifier("pd", 4096).value_or("") + "\n");
    EXPECT_EQ(store->check("a", "pa"), Check::kOk);
    EXPECT_EQ(store->check("b", "pb"), Check::kOk);
    EXPECT_EQ(store->check("c", "pc"), Check::kOk);
    EXPECT_EQ(store->check("d", "pd"), Check::kOk);
    EXPECT_EQ(store->check("c", "pa"), Check::kBadPassword);
    ASSERT_NE(store->hashOf("d"), nullptr);
    EXPECT_TRUE(store->hashOf("d")->starts_with(kScramPrefix));
    EXPECT_EQ(store->hashOf("e"), nullptr);
}

TEST(PasswordStore, SkipsCommentsAndBlankLines) {
    auto store = parse("# users\n\n   \n" + std::string(kMosquittoFile) + "  # trailing comment\n");
    EXPECT_EQ(store->size(), 2u);
}

TEST(PasswordStore, ErrorsNameFileAndLine) {
    auto no_hash = PasswordStore::parse("# x\nalice:$6$abc$def\nbob\n", "pw");
    ASSERT_FALSE(no_hash.ok());
    EXPECT_EQ(no_hash.error(), "pw:3: user 'bob' has no password hash");

    auto twice = PasswordStore::parse("alice:$6$abc$def\nbob:$6$abc$def\nalice:$6$xyz$def\n", "pw");
    ASSERT_FALSE(twice.ok());
    EXPECT_EQ(twice.error(), "pw:3: user 'alice' is already defined at line 1");

    auto missing = PasswordStore::load("/nonexistent/pw");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error(), "/nonexistent/pw: No such file or directory");
}

TEST(PasswordStore, AClearTextPasswordIsNotedAndNeverAccepted) {
    auto store = parse("carol:hunter2\n");
    EXPECT_EQ(store->check("carol", "hunter2"), Check::kBadPassword);
    ASSERT_EQ(store->notes().size(), 1u);
    EXPECT_EQ(store->notes()[0].kind, HashNote::kPlaintext);
    EXPECT_EQ(store->notes()[0].username, "carol");
    EXPECT_EQ(store->notes()[0].line, 1);
}

TEST(PasswordStore, WeakHashesAreNoted) {
    auto store = parse(std::string(kMosquittoFile) +                              // $7$ 101, $6$
                       "argon:" + hashed("x", HashType::kArgon2id, 1) + "\n" +    // m=19456 t=1
                       "strong1:" + hashed("x", HashType::kArgon2id, 3) + "\n" +  //
                       "strong2:" + hashed("x", HashType::kSha512Pbkdf2, 20000) +
                       "\n"  //
                       "scram:" +
                       makeScramVerifier("x", 4096).value_or("") + "\n");
    ASSERT_EQ(store->notes().size(), 3u);
    for (const auto& n : store->notes())
        EXPECT_EQ(n.kind, HashNote::kWeak) << n.username;
    EXPECT_EQ(store->notes()[0].username, "alice");
    EXPECT_EQ(store->notes()[0].detail, "PBKDF2-SHA512 with 101 iterations (below 10000)");
    EXPECT_EQ(store->notes()[1].username, "bob");
    EXPECT_EQ(store->notes()[1].detail, "single SHA-512 ($6$, Mosquitto 1.x)");
    EXPECT_EQ(store->notes()[2].username, "argon");
    EXPECT_EQ(store->notes()[2].line, 3);
}

TEST(PasswordStore, CorruptHashesCountAsUnusable) {
    for (const char* h : {"$6$onlysalt", "$7$x$salt$hash", "$7$101$$hash", "$argon2id$v=19$salt$hash", "$5$a$b"}) {
        auto note = assessHash("u", h, 1);
        ASSERT_TRUE(note.has_value()) << h;
        EXPECT_EQ(note->kind, HashNote::kPlaintext) << h;
    }
}

TEST(PasswordStore, LoadReadsAFile) {
    testing::TempDir dir;
    auto store = PasswordStore::load(dir.write("pw", kMosquittoFile));
    ASSERT_TRUE(store.ok()) << store.error();
    EXPECT_EQ((*store)->check("bob", "pw2"), Check::kOk);
}

TEST(PasswordStore, ManyWorkersCheckOneStoreAtOnce) {
    auto store = parse(kMosquittoFile);
    std::atomic<int> wrong{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                bool good = (i + t) % 2 == 0;
                Check want = good ? Check::kOk : Check::kBadPassword;
                if (store->check("alice", good ? "secret" : "nope") != want) ++wrong;
                if (store->check("nobody", "secret") != Check::kUnknownUser) ++wrong;
            }
        });
    }
    for (auto& w : workers)
        w.join();
    EXPECT_EQ(wrong.load(), 0);
}

TEST(PasswordStore, AReloadSwapsInANewStoreWhileHoldersKeepTheOld) {
    testing::TempDir dir;
    std::string path = dir.write("pw", kMosquittoFile);
    std::shared_ptr<const PasswordStore> current = *PasswordStore::load(path);
    auto held = current;  // a connection mid-CONNECT
    dir.write("pw", "alice:" + hashed("changed", HashType::kSha512Pbkdf2, 20000) + "\n");
    current = *PasswordStore::load(path);
    EXPECT_EQ(current->check("alice", "changed"), Check::kOk);
    EXPECT_EQ(current->check("bob", "pw2"), Check::kUnknownUser);
    EXPECT_EQ(held->check("alice", "secret"), Check::kOk);
}

}  // namespace
}  // namespace starling::auth
