#include "broker/filter_trie.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

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

}  // namespace
}  // namespace starling::broker
