// filterCovers(): is every topic one filter matches also matched by another.
#include "auth/filter_cover.hpp"

#include <gtest/gtest.h>

namespace starling::auth {
namespace {

TEST(FilterCovers, AFilterCoversItself) {
    for (const char* f : {"a", "a/b", "a/+", "a/#", "+", "#", "+/+/c", "/", "a//b", "$SYS/#"})
        EXPECT_TRUE(filterCovers(f, f)) << f;
}

TEST(FilterCovers, SingleLevelWildcardCoversLiteralsAndItselfButNotMultiLevel) {
    EXPECT_TRUE(filterCovers("a/b/+", "a/b/c"));
    EXPECT_TRUE(filterCovers("a/b/+", "a/b/+"));
    EXPECT_TRUE(filterCovers("a/b/+", "a/b/"));  // the empty level is a level
    EXPECT_FALSE(filterCovers("a/b/+", "a/#"));
    EXPECT_FALSE(filterCovers("a/b/+", "a/b/#"));
    EXPECT_FALSE(filterCovers("a/b/+", "a/b"));
    EXPECT_FALSE(filterCovers("a/b/+", "a/b/c/d"));
    EXPECT_FALSE(filterCovers("a/b/+", "a/+/c"));
}

TEST(FilterCovers, MultiLevelWildcardCoversEverythingBelowAndTheParent) {
    EXPECT_TRUE(filterCovers("a/#", "a/b/+"));
    EXPECT_TRUE(filterCovers("a/#", "a/b/#"));
    EXPECT_TRUE(filterCovers("a/#", "a/#"));
    EXPECT_TRUE(filterCovers("a/#", "a"));  // `#` includes the parent level [MQTT-4.7.1-2]
    EXPECT_TRUE(filterCovers("a/#", "a/+/c/#"));
    EXPECT_FALSE(filterCovers("a/#", "+/b"));
    EXPECT_FALSE(filterCovers("a/#", "b"));
    EXPECT_FALSE(filterCovers("a/b/#", "a/#"));
    EXPECT_TRUE(filterCovers("#", "a/b/c"));
    EXPECT_TRUE(filterCovers("#", "+/+"));
}

TEST(FilterCovers, LiteralNeverCoversWildcard) {
    EXPECT_FALSE(filterCovers("a/b", "a/+"));
    EXPECT_FALSE(filterCovers("a", "a/#"));
    EXPECT_FALSE(filterCovers("a/b", "#"));
}

TEST(FilterCovers, LevelCountsMustAgree) {
    EXPECT_FALSE(filterCovers("a/+/#", "a/#"));  // a/# matches "a", a/+/# does not
    EXPECT_TRUE(filterCovers("a/+/#", "a/b/#"));
    EXPECT_TRUE(filterCovers("+/+", "a/b"));
    EXPECT_FALSE(filterCovers("+/+", "a"));
    EXPECT_FALSE(filterCovers("+/+", "+/#"));
}

TEST(FilterCovers, TopLevelHashEqualsPlusHash) {
    // Every topic has at least one level, so at the top these match the same topics.
    EXPECT_TRUE(filterCovers("+/#", "#"));
    EXPECT_TRUE(filterCovers("#", "+/#"));
    EXPECT_FALSE(filterCovers("+", "#"));
    EXPECT_FALSE(filterCovers("+/+/#", "#"));
}

TEST(FilterCovers, LeadingWildcardNeverCoversDollarTopics) {
    // [MQTT-4.7.2-1]
    EXPECT_FALSE(filterCovers("#", "$SYS/broker/uptime"));
    EXPECT_FALSE(filterCovers("#", "$SYS/#"));
    EXPECT_FALSE(filterCovers("+/#", "$SYS/#"));
    EXPECT_FALSE(filterCovers("+/broker", "$SYS/broker"));
    EXPECT_TRUE(filterCovers("$SYS/#", "$SYS/broker/+"));
    EXPECT_TRUE(filterCovers("a/#", "a/$weird"));  // only the first level is special
}

}  // namespace
}  // namespace starling::auth
