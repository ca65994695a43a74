// The acl_file: Mosquitto's format, its decisions, and subscriptions checked against narrower rules.
#include "auth/acl.hpp"

#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace starling::auth {
namespace {

std::shared_ptr<const Acl> parse(std::string_view text) {
    auto acl = Acl::parse(text, "acl");
    EXPECT_TRUE(acl.ok()) << acl.error();
    return acl.ok() ? *acl : nullptr;
}

std::string errorOf(std::string_view text) {
    auto acl = Acl::parse(text, "acl");
    if (acl.ok()) {
        ADD_FAILURE() << "no error for:\n" << text;
        return "";
    }
    return acl.error();
}

const Client kAnonymous{"anon-1", std::nullopt};
Client user(std::string_view name, std::string_view id = "client-1") {
    return Client{id, name};
}

// ---- The format

TEST(AclFormat, RulesBeforeAnyUserLineAreForAnonymousClients) {
    auto acl = parse(
        "# public area\n"
        "topic read public/#\n"
        "\n"
        "user alice\n"
        "topic readwrite alice/#\n");
    EXPECT_TRUE(acl->canReceive(kAnonymous, "public/news"));
    EXPECT_FALSE(acl->canReceive(kAnonymous, "alice/inbox"));
    EXPECT_TRUE(acl->canReceive(user("alice"), "alice/inbox"));
    EXPECT_FALSE(acl->canReceive(user("alice"), "public/news"));  // anonymous rules are not everyone's
}

TEST(AclFormat, NoAccessWordMeansReadwrite) {
    auto acl = parse("user bob\ntopic bob/#\n");
    EXPECT_TRUE(acl->canPublish(user("bob"), "bob/x"));
    EXPECT_TRUE(acl->canReceive(user("bob"), "bob/x"));
}

TEST(AclFormat, TopicIsTheRestOfTheLineSpacesIncluded) {
    auto acl = parse("user bob\ntopic write  rooms/living room/#  \n");
    EXPECT_TRUE(acl->canPublish(user("bob"), "rooms/living room/lamp"));
    EXPECT_FALSE(acl->canPublish(user("bob"), "rooms/living"));
}

TEST(AclFormat, AUserNameMayContainSpacesAndRepeatedUserLinesAdd) {
    auto acl = parse(
        "user Jane Doe\ntopic read a\n"
        "user bob\ntopic read b\n"
        "user Jane Doe\ntopic read c\n");
    EXPECT_TRUE(acl->canReceive(user("Jane Doe"), "a"));
    EXPECT_TRUE(acl->canReceive(user("Jane Doe"), "c"));
    EXPECT_FALSE(acl->canReceive(user("Jane Doe"), "b"));
    EXPECT_EQ(acl->userCount(), 2u);
}

TEST(AclFormat, ASingleWordIsTheTopicEvenWhenItSpellsAnAccessType) {
    // Mosquitto's reading: `topic read` grants readwrite on the topic "read".
    auto acl = parse("user bob\ntopic read\n");
    EXPECT_TRUE(acl->canPublish(user("bob"), "read"));
}

TEST(AclFormat, IndentedLinesCrlfAndIndentedCommentsAreAccepted) {
    auto acl = parse("  # note\r\n\tuser bob\r\n   topic read a/b\r\n");
    EXPECT_TRUE(acl->canReceive(user("bob"), "a/b"));
}

TEST(AclFormat, ErrorsNameFileAndLine) {
    EXPECT_EQ(errorOf("topic read a\nuser\n"), "acl:2: 'user' needs a user name");
    EXPECT_EQ(errorOf("\n\ntopic\n"), "acl:3: 'topic' needs a topic filter");
    EXPECT_EQ(errorOf("topic publish a/b\n"),
              "acl:1: access type must be read, write, readwrite or deny, got 'publish'");
    EXPECT_EQ(errorOf("topic read a/#/b\n"), "acl:1: invalid topic filter 'a/#/b'");
    EXPECT_EQ(errorOf("pattern read a+/%c\n"), "acl:1: invalid topic filter 'a+/%c'");
    EXPECT_EQ(errorOf("topic read $share/g/a\n"), "acl:1: '$share/g/a' is a shared subscription");
    EXPECT_EQ(errorOf("user bob\ntopics read a\n"),
              "acl:2: unknown keyword 'topics' (expected user, topic or pattern)");
}

TEST(AclFormat, LoadReportsAMissingFile) {
    auto acl = Acl::load("/nonexistent/acl");
    ASSERT_FALSE(acl.ok());
    EXPECT_EQ(acl.error(), "/nonexistent/acl: No such file or directory");
}

TEST(AclFormat, LoadReadsAFile) {
    testing::TempDir dir;
    auto acl = Acl::load(dir.write("acl", "user bob\ntopic read a\n"));
    ASSERT_TRUE(acl.ok()) << acl.error();
    EXPECT_TRUE((*acl)->canReceive(user("bob"), "a"));
}

// ---- Decisions

TEST(AclDecision, WhatNoRuleGrantsIsDenied) {
    auto empty = parse("");
    EXPECT_FALSE(empty->canPublish(kAnonymous, "a"));
    EXPECT_FALSE(empty->canReceive(user("bob"), "a"));
    EXPECT_FALSE(empty->canSubscribe(user("bob"), "a"));

    auto acl = parse("user alice\ntopic a/#\n");
    EXPECT_FALSE(acl->canPublish(user("carol"), "a/b"));  // no rules for carol at all
}

TEST(AclDecision, ReadAndWriteAreSeparate) {
    auto acl = parse("user bob\ntopic read sensors/#\ntopic write commands/#\n");
    EXPECT_TRUE(acl->canReceive(user("bob"), "sensors/t1"));
    EXPECT_FALSE(acl->canPublish(user("bob"), "sensors/t1"));
    EXPECT_TRUE(acl->canPublish(user("bob"), "commands/lamp"));
    EXPECT_FALSE(acl->canReceive(user("bob"), "commands/lamp"));
    EXPECT_FALSE(acl->canSubscribe(user("bob"), "commands/#"));
}

TEST(AclDecision, DenyWinsWhereverItIsWritten) {
    auto acl = parse(
        "user bob\n"
        "topic readwrite home/#\n"
        "topic deny home/secret/#\n");
    EXPECT_TRUE(acl->canPublish(user("bob"), "home/kitchen"));
    EXPECT_FALSE(acl->canPublish(user("bob"), "home/secret/safe"));
    EXPECT_FALSE(acl->canReceive(user("bob"), "home/secret"));  // `#` includes the parent level
    // Order does not matter: a deny before the grant works the same.
    auto before = parse("user bob\ntopic deny home/secret/#\ntopic readwrite home/#\n");
    EXPECT_FALSE(before->canPublish(user("bob"), "home/secret/safe"));
}

TEST(AclDecision, ADenyPatternBeatsAUsersOwnGrant) {
    auto acl = parse(
        "pattern deny private/%c/#\n"
        "user bob\n"
        "topic readwrite #\n");
    EXPECT_TRUE(acl->canReceive(user("bob", "phone"), "private/laptop/x"));
    EXPECT_FALSE(acl->canReceive(user("bob", "laptop"), "private/laptop/x"));
}

TEST(AclDecision, PatternsApplyToEveryClientWithTheirOwnIdAndName) {
    auto acl = parse(
        "pattern readwrite devices/%c/#\n"
        "pattern read users/%u/inbox\n");
    EXPECT_TRUE(acl->canPublish(user("alice", "dev42"), "devices/dev42/temp"));
    EXPECT_FALSE(acl->canPublish(user("alice", "dev42"), "devices/dev43/temp"));
    EXPECT_TRUE(acl->canReceive(user("alice", "dev42"), "users/alice/inbox"));
    EXPECT_FALSE(acl->canReceive(user("alice", "dev42"), "users/bob/inbox"));
    EXPECT_FALSE(acl->canPublish(user("alice", "dev42"), "users/alice/inbox"));
    // Anonymous clients get the client id patterns but not the username ones.
    EXPECT_TRUE(acl->canPublish(Client{"dev7", std::nullopt}, "devices/dev7/temp"));
    EXPECT_FALSE(acl->canReceive(Client{"dev7", std::nullopt}, "users//inbox"));
}

TEST(AclDecision, SubstitutionWorksInsideALevelToo) {
    auto acl = parse("pattern write meters/meter-%c/%u-reading\n");
    EXPECT_TRUE(acl->canPublish(user("bob", "7"), "meters/meter-7/bob-reading"));
    EXPECT_FALSE(acl->canPublish(user("bob", "7"), "meters/meter-8/bob-reading"));
}

TEST(AclDecision, PatternsIgnoreIdsThatWouldEscapeTheirLevel) {
    auto acl = parse("pattern readwrite devices/%c/#\n");
    // "a/b" would read as devices/a/b/#, which is inside device "a"'s space.
    EXPECT_FALSE(acl->canPublish(user("x", "a/b"), "devices/a/b/cmd"));
    EXPECT_FALSE(acl->canPublish(user("x", "+"), "devices/anything/cmd"));
    EXPECT_FALSE(acl->canPublish(user("x", "#"), "devices/anything/cmd"));
    EXPECT_FALSE(acl->canPublish(user("x", ""), "devices//cmd"));
    auto by_name = parse("pattern readwrite users/%u/#\n");
    EXPECT_FALSE(by_name->canPublish(user("alice/x"), "users/alice/x/y"));
    EXPECT_FALSE(by_name->canPublish(user("#"), "users/bob/y"));
    EXPECT_TRUE(by_name->canPublish(user("alice"), "users/alice/y"));
}

TEST(AclDecision, ADenyPatternThatCannotBeReadSafelyDeniesEverything) {
    auto acl = parse("pattern deny private/%c/#\nuser bob\ntopic readwrite #\n");
    EXPECT_TRUE(acl->canPublish(user("bob", "laptop"), "news"));
    EXPECT_FALSE(acl->canPublish(user("bob", "a/b"), "news"));
}

TEST(AclDecision, WildcardRulesDoNotReachDollarTopics) {
    auto acl = parse("user bob\ntopic read #\ntopic read +/broker/#\n");
    EXPECT_TRUE(acl->canReceive(user("bob"), "news"));
    EXPECT_FALSE(acl->canReceive(user("bob"), "$SYS/broker/uptime"));
    auto sys = parse("user bob\ntopic read $SYS/#\n");
    EXPECT_TRUE(sys->canReceive(user("bob"), "$SYS/broker/uptime"));
    EXPECT_TRUE(sys->canSubscribe(user("bob"), "$SYS/broker/+"));
}

// ---- Subscriptions

TEST(AclSubscribe, AWildcardSubscriptionNeedsARuleAtLeastAsWide) {
    auto acl = parse("user bob\ntopic read a/b/+\n");
    EXPECT_TRUE(acl->canSubscribe(user("bob"), "a/b/+"));
    EXPECT_TRUE(acl->canSubscribe(user("bob"), "a/b/c"));
    EXPECT_FALSE(acl->canSubscribe(user("bob"), "a/#"));
    EXPECT_FALSE(acl->canSubscribe(user("bob"), "a/b/#"));
    EXPECT_FALSE(acl->canSubscribe(user("bob"), "#"));
    EXPECT_FALSE(acl->canSubscribe(user("bob"), "+/b/c"));
}

TEST(AclSubscribe, AWideRuleAllowsNarrowerSubscriptions) {
    auto acl = parse("user bob\ntopic read a/#\n");
    EXPECT_TRUE(acl->canSubscribe(user("bob"), "a/b/+"));
    EXPECT_TRUE(acl->canSubscribe(user("bob"), "a/#"));
    EXPECT_TRUE(acl->canSubscribe(user("bob"), "a"));
    EXPECT_FALSE(acl->canSubscribe(user("bob"), "+/b"));
}

TEST(AclSubscribe, ADenyAsWideAsTheSubscriptionRefusesIt) {
    auto acl = parse("user bob\ntopic read #\ntopic deny secret/#\n");
    EXPECT_FALSE(acl->canSubscribe(user("bob"), "secret/#"));
    EXPECT_FALSE(acl->canSubscribe(user("bob"), "secret/+/x"));
    // A deny narrower than the subscription leaves it allowed; those messages are then not delivered.
    EXPECT_TRUE(acl->canSubscribe(user("bob"), "#"));
    EXPECT_FALSE(acl->canReceive(user("bob"), "secret/plans"));
    EXPECT_TRUE(acl->canReceive(user("bob"), "public/plans"));
}

TEST(AclSubscribe, SharedSubscriptionsAreCheckedOnTheirFilter) {
    auto acl = parse("user bob\ntopic read jobs/+\n");
    EXPECT_TRUE(acl->canSubscribe(user("bob"), "$share/workers/jobs/+"));
    EXPECT_FALSE(acl->canSubscribe(user("bob"), "$share/workers/jobs/#"));
}

TEST(AclSubscribe, PatternsCoverSubscriptionsToo) {
    auto acl = parse("pattern read devices/%c/#\n");
    EXPECT_TRUE(acl->canSubscribe(user("x", "d1"), "devices/d1/+/status"));
    EXPECT_FALSE(acl->canSubscribe(user("x", "d1"), "devices/+/status"));
}

TEST(AclSubscribe, WriteOnlyRulesDoNotAllowSubscribing) {
    auto acl = parse("user bob\ntopic write a/#\n");
    EXPECT_FALSE(acl->canSubscribe(user("bob"), "a/b"));
}

// ---- For the config checker

TEST(AclChecker, APatternGrantingWriteOnHashLetsEveryoneWriteEverything) {
    EXPECT_TRUE(parse("pattern write #\n")->everyoneCanWriteEverything());
    EXPECT_TRUE(parse("pattern readwrite #\n")->everyoneCanWriteEverything());
    EXPECT_TRUE(parse("pattern +/#\n")->everyoneCanWriteEverything());
    EXPECT_FALSE(parse("pattern read #\n")->everyoneCanWriteEverything());
    EXPECT_FALSE(parse("pattern write %c/#\n")->everyoneCanWriteEverything());
    EXPECT_FALSE(parse("user bob\ntopic write #\n")->everyoneCanWriteEverything());
    EXPECT_FALSE(parse("topic write #\n")->everyoneCanWriteEverything());
}

TEST(AclChecker, AnonymousRulesGrantingWriteOnHash) {
    EXPECT_TRUE(parse("topic write #\n")->anonymousCanWriteEverything());
    EXPECT_TRUE(parse("pattern write #\n")->anonymousCanWriteEverything());
    EXPECT_FALSE(parse("topic write a/#\nuser bob\ntopic write #\n")->anonymousCanWriteEverything());
}

// ---- Scale

TEST(AclScale, ManyUsersAreLookedUpByName) {
    std::string text;
    for (int i = 0; i < 20000; ++i)
        text += "user u" + std::to_string(i) + "\ntopic readwrite home/u" + std::to_string(i) + "/#\n";
    auto acl = parse(text);
    EXPECT_EQ(acl->userCount(), 20000u);
    for (int i = 0; i < 20000; i += 997) {
        std::string name = "u" + std::to_string(i);
        EXPECT_TRUE(acl->canPublish(user(name), "home/" + name + "/x"));
        EXPECT_FALSE(acl->canPublish(user(name), "home/u" + std::to_string(i + 1) + "/x"));
    }
}

}  // namespace
}  // namespace starling::auth
