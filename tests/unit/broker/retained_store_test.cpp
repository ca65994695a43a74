#include "broker/retained_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace starling::broker {
namespace {

MessagePtr msg(std::string_view topic, std::string_view payload) {
    Message::Init init;
    init.topic = topic;
    init.payload = payload;
    init.retain = true;
    return Message::create(init);
}

std::vector<std::string> topics(RetainedStore& s, std::string_view filter) {
    std::vector<MessagePtr> found;
    s.match(filter, found);
    std::vector<std::string> out;
    for (auto& m : found)
        out.emplace_back(m->topic());
    std::sort(out.begin(), out.end());
    return out;
}

TEST(RetainedStore, OnePerTopicReplacedByTheNext) {
    // [MQTT-3.3.1-5]
    RetainedStore s;
    s.set(msg("a/b", "1"));
    s.set(msg("a/b", "22"));
    std::vector<MessagePtr> found;
    s.match("a/b", found);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0]->payload(), "22");
    EXPECT_EQ(s.count(), 1u);
    EXPECT_EQ(s.bytes(), 3u + 2u);
}

TEST(RetainedStore, EmptyPayloadDeletesRetained) {
    // [MQTT-3.3.1-10]
    RetainedStore s;
    s.set(msg("a/b", "1"));
    s.set(msg("a/b", ""));
    EXPECT_EQ(s.count(), 0u);
    EXPECT_EQ(s.bytes(), 0u);
    EXPECT_TRUE(topics(s, "#").empty());
}

TEST(RetainedStore, WildcardLookups) {
    RetainedStore s;
    for (auto t : {"a", "a/b", "a/b/c", "a/x/c", "b", "/lead", "$SYS/x"})
        s.set(msg(t, "p"));
    EXPECT_EQ(topics(s, "a/#"), (std::vector<std::string>{"a", "a/b", "a/b/c", "a/x/c"}));
    EXPECT_EQ(topics(s, "a/+/c"), (std::vector<std::string>{"a/b/c", "a/x/c"}));
    EXPECT_EQ(topics(s, "+"), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(topics(s, "+/lead"), (std::vector<std::string>{"/lead"}));
    // [MQTT-4.7.2-1] no `$` topics for leading wildcards.
    EXPECT_EQ(topics(s, "#").size(), 6u);
    EXPECT_EQ(topics(s, "+/x"), (std::vector<std::string>{}));
    EXPECT_EQ(topics(s, "$SYS/#"), (std::vector<std::string>{"$SYS/x"}));
}

std::vector<std::string> pageTopics(const RetainedStore::Page& page) {
    std::vector<std::string> out;
    for (auto& m : page.messages)
        out.emplace_back(m->topic());
    return out;
}

TEST(RetainedStore, BrowseByTextPrefixInTopicOrder) {
    RetainedStore s;
    for (auto t : {"a/bin", "a/b/c", "b/1", "a/b", "a/bc", "a", "/lead", "$SYS/x"})
        s.set(msg(t, "p"));
    // A prefix of text, not of levels: "a/b" also finds "a/bc"; byte order puts "a/b/c" before "a/bc".
    auto page = s.browse("a/b", "", 10);
    EXPECT_EQ(pageTopics(page), (std::vector<std::string>{"a/b", "a/b/c", "a/bc", "a/bin"}));
    EXPECT_EQ(page.total, 4u);
    EXPECT_EQ(page.remaining, 4u);
    EXPECT_EQ(pageTopics(s.browse("a/", "", 10)).size(), 4u);  // not "a" itself
    EXPECT_EQ(pageTopics(s.browse("", "", 10)).size(), 8u);    // everything, `$` topics included
    EXPECT_EQ(pageTopics(s.browse("/", "", 10)), (std::vector<std::string>{"/lead"}));
    EXPECT_EQ(s.browse("c", "", 10).total, 0u);
    EXPECT_EQ(s.browse("a/b/c/d", "", 10).total, 0u);
}

TEST(RetainedStore, BrowsePagesFollowTheCursor) {
    RetainedStore s;
    for (int i = 9; i >= 0; --i)
        s.set(msg("t/" + std::to_string(i), "p"));
    auto first = s.browse("t/", "", 4);
    EXPECT_EQ(pageTopics(first), (std::vector<std::string>{"t/0", "t/1", "t/2", "t/3"}));
    EXPECT_EQ(first.total, 10u);
    EXPECT_EQ(first.remaining, 10u);
    auto second = s.browse("t/", "t/3", 4);
    EXPECT_EQ(pageTopics(second), (std::vector<std::string>{"t/4", "t/5", "t/6", "t/7"}));
    EXPECT_EQ(second.remaining, 6u);
    auto last = s.browse("t/", "t/7", 4);
    EXPECT_EQ(pageTopics(last), (std::vector<std::string>{"t/8", "t/9"}));
    EXPECT_EQ(last.remaining, 2u);
    // A limit of 0 only counts.
    auto counted = s.browse("t/", "t/4", 0);
    EXPECT_TRUE(counted.messages.empty());
    EXPECT_EQ(counted.total, 10u);
    EXPECT_EQ(counted.remaining, 5u);
}

TEST(Message, SharedBodyHoldsTopicPropertiesAndPayload) {
    Message::Init init;
    init.topic = "t/1";
    init.properties = "\x01\x01";
    init.payload = "hello";
    init.qos = protocol::QoS::kAtLeastOnce;
    auto m = Message::create(init);
    MessagePtr copy = m;
    EXPECT_EQ(copy->topic(), "t/1");
    EXPECT_EQ(copy->properties(), "\x01\x01");
    EXPECT_EQ(copy->payload(), "hello");
    EXPECT_EQ(copy->size(), 3u + 2u + 5u);
    EXPECT_EQ(copy->qos(), protocol::QoS::kAtLeastOnce);
}

}  // namespace
}  // namespace starling::broker
