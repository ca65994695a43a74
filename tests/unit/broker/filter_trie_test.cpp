#include "broker/filter_trie.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "protocol/topic.hpp"

namespace starling::broker {
namespace {

std::vector<std::string> matches(FilterTrie<std::string>& trie, std::string_view topic) {
    std::vector<std::string> out;
    trie.match(topic, [&](std::string& v) { out.push_back(v); });
    std::sort(out.begin(), out.end());
    return out;
}

FilterTrie<std::string> trieOf(std::initializer_list<const char*> filters) {
    FilterTrie<std::string> t;
    for (const char* f : filters)
        t.at(f) = f;
    return t;
}

TEST(FilterTrie, ExactAndSingleLevelWildcard) {
    auto t = trieOf({"a/b/c", "a/+/c", "+/+/+", "a/b"});
    EXPECT_EQ(matches(t, "a/b/c"), (std::vector<std::string>{"+/+/+", "a/+/c", "a/b/c"}));
    EXPECT_EQ(matches(t, "a/b"), (std::vector<std::string>{"a/b"}));
    EXPECT_EQ(matches(t, "a/x/c"), (std::vector<std::string>{"+/+/+", "a/+/c"}));
}

TEST(FilterTrie, MultiLevelWildcardMatchesParentLevel) {
    // [MQTT-4.7.1-2] "sport/tennis/#" matches "sport/tennis" too.
    auto t = trieOf({"sport/tennis/#", "#", "sport/#"});
    EXPECT_EQ(matches(t, "sport/tennis"), (std::vector<std::string>{"#", "sport/#", "sport/tennis/#"}));
    EXPECT_EQ(matches(t, "sport"), (std::vector<std::string>{"#", "sport/#"}));
    EXPECT_EQ(matches(t, "sport/tennis/player1/ranking"), (std::vector<std::string>{"#", "sport/#", "sport/tennis/#"}));
}

TEST(FilterTrie, PlusMatchesEmptyLevels) {
    auto t = trieOf({"+/+", "/+", "a/+"});
    EXPECT_EQ(matches(t, "/finance"), (std::vector<std::string>{"+/+", "/+"}));
    EXPECT_EQ(matches(t, "a/"), (std::vector<std::string>{"+/+", "a/+"}));
}

TEST(FilterTrie, LeadingWildcardsNeverMatchDollarTopics) {
    // [MQTT-4.7.2-1]
    auto t = trieOf({"#", "+/monitor/Clients", "$SYS/#", "$SYS/monitor/+"});
    EXPECT_EQ(matches(t, "$SYS/monitor/Clients"), (std::vector<std::string>{"$SYS/#", "$SYS/monitor/+"}));
    EXPECT_EQ(matches(t, "x/monitor/Clients"), (std::vector<std::string>{"#", "+/monitor/Clients"}));
}

TEST(FilterTrie, EraseRemovesOnlyThatFilterAndPrunes) {
    auto t = trieOf({"a/b/c", "a/b"});
    EXPECT_EQ(t.size(), 2u);
    t.erase("a/b/c");
    EXPECT_EQ(t.size(), 1u);
    EXPECT_TRUE(matches(t, "a/b/c").empty());
    EXPECT_EQ(matches(t, "a/b"), (std::vector<std::string>{"a/b"}));
    t.erase("a/b");
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.find("a"), nullptr);
}

TEST(FilterTrie, ForEachListsFilters) {
    auto t = trieOf({"a/b", "a/#", "x"});
    std::vector<std::string> all;
    t.forEach([&](std::string_view f, std::string&) { all.emplace_back(f); });
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all, (std::vector<std::string>{"a/#", "a/b", "x"}));
}

TEST(FilterTrie, WildcardFiltersAreFoundAndErasedLikeOthers) {
    auto t = trieOf({"a/+", "a/#", "+", "#", "a/+/c", "a/b"});
    ASSERT_NE(t.find("a/+"), nullptr);
    EXPECT_EQ(*t.find("a/#"), "a/#");
    EXPECT_EQ(*t.find("+"), "+");
    EXPECT_EQ(t.find("a/x"), nullptr);
    t.erase("a/+");  // "a/+/c" keeps the `+` node
    EXPECT_EQ(t.find("a/+"), nullptr);
    EXPECT_EQ(matches(t, "a/b/c"), (std::vector<std::string>{"#", "a/#", "a/+/c"}));
    t.erase("a/+/c");
    t.erase("#");
    EXPECT_EQ(matches(t, "a/b/c"), (std::vector<std::string>{"a/#"}));
    EXPECT_EQ(matches(t, "a"), (std::vector<std::string>{"+", "a/#"}));
    for (const char* f : {"a/#", "+", "a/b"})
        t.erase(f);
    EXPECT_EQ(t.size(), 0u);
    std::vector<std::string> left;
    t.forEach([&](std::string_view f, std::string&) { left.emplace_back(f); });
    EXPECT_TRUE(left.empty());
}

TEST(FilterTrie, TopicOfManyLevels) {
    // More levels than a TopicPath keeps inline.
    auto t = trieOf({"d/+/+/+/+/+/+/+/+/+/#", "d/1/2/3/4/5/6/7/8/9/10/11", "d/1/2/3/4/5/6/7/8/9/10/12", "d/#"});
    EXPECT_EQ(matches(t, "d/1/2/3/4/5/6/7/8/9/10/11"),
              (std::vector<std::string>{"d/#", "d/+/+/+/+/+/+/+/+/+/#", "d/1/2/3/4/5/6/7/8/9/10/11"}));
    TopicPath path("d/1/2/3/4/5/6/7/8/9");
    EXPECT_EQ(path.size(), 10u);
    EXPECT_EQ(path.level(9).text, "9");
    std::vector<std::string> got;
    t.match(path, [&](std::string& v) { got.push_back(v); });
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"d/#", "d/+/+/+/+/+/+/+/+/+/#"}));
}

TEST(FilterTrie, OneTopicPathServesSeveralTries) {
    auto a = trieOf({"x/+", "x/y"});
    auto b = trieOf({"x/#", "$x/y"});
    TopicPath path("x/y");
    std::vector<std::string> got;
    a.match(path, [&](std::string& v) { got.push_back(v); });
    b.match(path, [&](std::string& v) { got.push_back(v); });
    a.match(path, [&](std::string& v) { got.push_back(v); });
    EXPECT_EQ(got.size(), 5u);
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), (std::set<std::string>{"x/#", "x/+", "x/y"}));
}

// The trie against protocol::topicMatches, one filter at a time, over random filters and topics made of a
// few levels (empty ones, `$` ones and wildcards included), with filters added and erased.
TEST(FilterTrie, MatchesAsTopicMatchesDoes) {
    std::mt19937 rng(9);
    auto pick = [&](std::initializer_list<const char*> from) {
        return std::string(*(from.begin() + std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)));
    };
    auto join = [&](size_t n, std::initializer_list<const char*> from) {
        std::string s;
        for (size_t i = 0; i < n; ++i)
            s += (i ? "/" : "") + pick(from);
        return s;
    };
    auto length = [&] { return std::uniform_int_distribution<size_t>(1, 4)(rng); };
    std::set<std::string> filters;
    FilterTrie<std::string> t;
    for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < 30; ++i) {
            std::string f = join(length(), {"a", "b", "", "$s", "+"});
            if (rng() % 3 == 0) f += f.empty() ? "#" : "/#";
            if (!protocol::isValidTopicFilter(f)) continue;
            filters.insert(f);
            t.at(f) = f;
        }
        for (auto it = filters.begin(); it != filters.end();) {
            if (rng() % 4 == 0) {
                t.erase(*it);
                it = filters.erase(it);
            } else {
                ++it;
            }
        }
        ASSERT_EQ(t.size(), filters.size());
        for (int i = 0; i < 50; ++i) {
            std::string topic = join(length() + 1, {"a", "b", "", "$s", "c"});
            if (!protocol::isValidTopicName(topic)) continue;
            std::vector<std::string> want;
            for (const auto& f : filters)
                if (protocol::topicMatches(f, topic)) want.push_back(f);
            ASSERT_EQ(matches(t, topic), want) << "topic " << topic;
        }
    }
}

}  // namespace
}  // namespace starling::broker
