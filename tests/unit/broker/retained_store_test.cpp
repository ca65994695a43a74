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
