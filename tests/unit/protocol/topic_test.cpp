// Topic names, filters, shared subscriptions and matching [MQTT 5.0 sections 4.7, 4.8.2].
#include "protocol/topic.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace starling::protocol {
namespace {

// [MQTT-4.7.0-1] [MQTT-3.3.2-2] [MQTT-4.7.3-1] [MQTT-4.7.3-2] [MQTT-4.7.3-3]
TEST(TopicName, ValidityTable_MQTT_4_7_0_1) {
    EXPECT_TRUE(isValidTopicName("sport/tennis/player1"));
    EXPECT_TRUE(isValidTopicName("/"));
    EXPECT_TRUE(isValidTopicName("a//b"));
    EXPECT_TRUE(isValidTopicName("$SYS/broker/uptime"));
    EXPECT_TRUE(isValidTopicName(" "));
    EXPECT_TRUE(isValidTopicName("caf\xC3\xA9"));
    EXPECT_FALSE(isValidTopicName(""));
    EXPECT_FALSE(isValidTopicName("sport/+"));
    EXPECT_FALSE(isValidTopicName("sport/#"));
    EXPECT_FALSE(isValidTopicName("a+b"));
    EXPECT_FALSE(isValidTopicName(std::string_view("a\0b", 3)));
    EXPECT_FALSE(isValidTopicName("\xED\xA0\x80"));
    EXPECT_TRUE(isValidTopicName(std::string(65535, 'a')));
    EXPECT_FALSE(isValidTopicName(std::string(65536, 'a')));
}

// [MQTT-4.7.1-1] '#' alone and last; [MQTT-4.7.1-2] '+' alone in its level.
TEST(TopicFilter, ValidityTable_MQTT_4_7_1_1_MQTT_4_7_1_2) {
    const char* valid[] = {
        "#",    "+",    "sport/#", "sport/tennis/#", "+/tennis/#", "sport/+/player1", "+/+",         "/+",        "/#",
        "a//b", "+//+", "$SYS/#",  "$share",         "$share/g/#", "$share/g/a/+/b",  "$sharefoo/x", "$share/g//"};
    for (const char* f : valid)
        EXPECT_TRUE(isValidTopicFilter(f)) << f;
    const char* invalid[] = {"",
                             "sport/tennis#",
                             "sport/tennis/#/ranking",
                             "#/",
                             "a/#/b",
                             "##",
                             "sport+",
                             "+a",
                             "a/b+/c",
                             "++",
                             "a/+#",
                             "$share/",
                             "$share/g",
                             "$share/g/",
                             "$share//a",
                             "$share/g+/a",
                             "$share/#/a",
                             "$share/g/a#"};
    for (const char* f : invalid)
        EXPECT_FALSE(isValidTopicFilter(f)) << f;
    EXPECT_FALSE(isValidTopicFilter(std::string_view("a/\0", 3)));
    EXPECT_FALSE(isValidTopicFilter("\xC0\x80"));
    EXPECT_FALSE(isValidTopicFilter(std::string(65536, 'a')));
}

// [MQTT-4.8.2-1] [MQTT-4.8.2-2] $share/{ShareName}/{filter}.
TEST(SharedSubscription, ParsesGroupAndFilter_MQTT_4_8_2_1) {
    auto s = parseSharedSubscription("$share/consumers/sport/+/score");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->group, "consumers");
    EXPECT_EQ(s->filter, "sport/+/score");
    auto h = parseSharedSubscription("$share/g/#");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->filter, "#");
    auto empty_level = parseSharedSubscription("$share/g//");
    ASSERT_TRUE(empty_level);
    EXPECT_EQ(empty_level->filter, "/");
    // What follows the ShareName is an ordinary filter, even one that starts with "$share/".
    auto nested = parseSharedSubscription("$share/g/$share/x");
    ASSERT_TRUE(nested);
    EXPECT_EQ(nested->filter, "$share/x");
    EXPECT_TRUE(isValidTopicFilter("$share/g/$share/x"));
}

TEST(SharedSubscription, RefusesMalformedOrNonShared_MQTT_4_8_2_2) {
    EXPECT_FALSE(parseSharedSubscription("sport/#"));
    EXPECT_FALSE(parseSharedSubscription("$share"));
    EXPECT_FALSE(parseSharedSubscription("$sharegroup/a"));
    EXPECT_FALSE(parseSharedSubscription("$share/"));
    EXPECT_FALSE(parseSharedSubscription("$share//a"));     // empty ShareName
    EXPECT_FALSE(parseSharedSubscription("$share/g"));      // no filter
    EXPECT_FALSE(parseSharedSubscription("$share/g/"));     // empty filter
    EXPECT_FALSE(parseSharedSubscription("$share/a+b/x"));  // wildcard in ShareName
    EXPECT_FALSE(parseSharedSubscription("$share/#/x"));
    EXPECT_FALSE(parseSharedSubscription("$share/g/a#"));  // invalid filter
    // [MQTT-1.5.4-1] malformed UTF-8 is not a shared subscription either (found by fuzz_decoders).
    EXPECT_FALSE(parseSharedSubscription("$share/gro\xFFp/a"));
    EXPECT_FALSE(parseSharedSubscription(std::string_view("$share/g/a\0", 11)));
}

struct MatchCase {
    const char* filter;
    const char* topic;
    bool matches;
};

// The examples of MQTT 5.0 section 4.7.1 and the edge cases around them.
const MatchCase kMatchTable[] = {
    {"sport/tennis/player1", "sport/tennis/player1", true},
    {"sport/tennis/player1", "sport/tennis/player2", false},
    {"sport/tennis/player1", "sport/tennis/player1/ranking", false},
    {"sport/tennis/player1", "sport/tennis", false},
    {"sport/tennis/player1/#", "sport/tennis/player1", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
    {"sport/#", "sport", true},  // '#' includes the parent level
    {"sport/#", "sports", false},
    {"sport/#", "sport/", true},
    {"#", "sport", true},
    {"#", "/", true},
    {"#", "a/b/c/d", true},
    {"sport/tennis/+", "sport/tennis/player1", true},
    {"sport/tennis/+", "sport/tennis/player2", true},
    {"sport/tennis/+", "sport/tennis/player1/ranking", false},
    {"sport/+", "sport", false},
    {"sport/+", "sport/", true},  // '+' matches an empty level
    {"+/+", "/finance", true},
    {"/+", "/finance", true},
    {"+", "/finance", false},
    {"+", "finance", true},
    {"+/+", "/", true},
    {"a//c", "a//c", true},
    {"a/+/c", "a//c", true},
    {"a/+/c", "a/b/c", true},
    {"a/+/c", "a/b/d", false},
    {"+/+/#", "a/b", true},
    {"+/b/#", "a/b", true},
    {"a/b", "a/b/", false},
    {"a/b/", "a/b", false},
    {"a/b/#", "a/bc", false},
    {"ab/#", "a", false},
    {"Sport", "sport", false},  // [MQTT-4.7.3-4] no case folding
    // [MQTT-4.7.2-1] wildcards in the first level never match '$' topics.
    {"#", "$SYS/broker/clients", false},
    {"+/monitor/Clients", "$SYS/monitor/Clients", false},
    {"+", "$SYS", false},
    {"$SYS/#", "$SYS/monitor/Clients", true},
    {"$SYS/#", "$SYS", true},
    {"$SYS/monitor/+", "$SYS/monitor/Clients", true},
    {"a/#", "a/$b", true},  // '$' only matters in the first level
    {"+/$b", "a/$b", true},
};

TEST(TopicMatching, Table_MQTT_4_7_2_1) {
    for (const auto& c : kMatchTable) {
        EXPECT_EQ(topicMatches(c.filter, c.topic), c.matches) << c.filter << " vs " << c.topic;
    }
}

TEST(TopicLevels, SplitsOnEverySlash) {
    auto levels = [](std::string_view s) {
        std::vector<std::string> out;
        TopicLevels it(s);
        while (auto l = it.next())
            out.emplace_back(*l);
        return out;
    };
    EXPECT_EQ(levels("a/b/c"), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(levels("a//b"), (std::vector<std::string>{"a", "", "b"}));
    EXPECT_EQ(levels("/"), (std::vector<std::string>{"", ""}));
    EXPECT_EQ(levels("x"), (std::vector<std::string>{"x"}));
}

}  // namespace
}  // namespace starling::protocol
