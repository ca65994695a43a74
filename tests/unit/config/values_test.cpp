// The strict value parsers behind every directive.
#include <gtest/gtest.h>

#include <limits>

#include "config/values.hpp"

namespace starling::config {
namespace {

TEST(ParseInteger, AcceptsPlainDecimalInRange) {
    EXPECT_EQ(parseInteger("0", 0, 10, "x"), 0);
    EXPECT_EQ(parseInteger("10", 0, 10, "x"), 10);
    EXPECT_EQ(parseInteger("-1", -1, 10, "x"), -1);
    EXPECT_EQ(parseInteger("007", 0, 10, "x"), 7);
    EXPECT_EQ(parseInteger("9223372036854775807", 0, std::numeric_limits<int64_t>::max(), "x"),
              std::numeric_limits<int64_t>::max());
}

TEST(ParseInteger, RefusesAnythingElse) {
    for (const char* bad : {"", "-", "+1", " 1", "1 ", "1.0", "1e3", "0x1f", "10s", "--1", "١"})
        EXPECT_THROW(parseInteger(bad, -100, 100, "x"), ValueError) << bad;
    EXPECT_THROW(parseInteger("11", 0, 10, "x"), ValueError);
    EXPECT_THROW(parseInteger("-2", -1, 10, "x"), ValueError);
    EXPECT_THROW(parseInteger("9223372036854775808", 0, std::numeric_limits<int64_t>::max(), "x"), ValueError);
}

TEST(ParseUnsigned, FullRangeAndOverflow) {
    EXPECT_EQ(parseUnsigned("18446744073709551615", std::numeric_limits<uint64_t>::max(), "x"),
              std::numeric_limits<uint64_t>::max());
    EXPECT_THROW(parseUnsigned("18446744073709551616", std::numeric_limits<uint64_t>::max(), "x"), ValueError);
    EXPECT_THROW(parseUnsigned("-0", 10, "x"), ValueError);
}

TEST(ParseBool, TrueFalseOneZero) {
    EXPECT_TRUE(parseBool("true", "x"));
    EXPECT_TRUE(parseBool("1", "x"));
    EXPECT_FALSE(parseBool("false", "x"));
    EXPECT_FALSE(parseBool("0", "x"));
    for (const char* bad : {"", "TRUE", "yes", "on", "2", "truee"})
        EXPECT_THROW(parseBool(bad, "x"), ValueError) << bad;
}

TEST(ParseByteSize, UnitsFollowRedis) {
    EXPECT_EQ(parseByteSize("0", "x"), 0u);
    EXPECT_EQ(parseByteSize("123", "x"), 123u);
    EXPECT_EQ(parseByteSize("123b", "x"), 123u);
    EXPECT_EQ(parseByteSize("1k", "x"), 1000u);
    EXPECT_EQ(parseByteSize("1kb", "x"), 1024u);
    EXPECT_EQ(parseByteSize("1KB", "x"), 1024u);
    EXPECT_EQ(parseByteSize("8m", "x"), 8000000u);
    EXPECT_EQ(parseByteSize("8mb", "x"), 8u << 20);
    EXPECT_EQ(parseByteSize("2g", "x"), 2000000000u);
    EXPECT_EQ(parseByteSize("2Gb", "x"), 2ull << 30);
}

TEST(ParseByteSize, RefusesBadOrHugeSizes) {
    for (const char* bad : {"", "mb", "8 mb", "8tb", "-1", "1.5mb", "8mbs"})
        EXPECT_THROW(parseByteSize(bad, "x"), ValueError) << bad;
    EXPECT_THROW(parseByteSize("20000000000gb", "x"), ValueError);
}

TEST(IsValidHost, AddressesAndNames) {
    for (const char* good : {"0.0.0.0", "127.0.0.1", "::", "::1", "fe80::1%eth0", "2001:db8::42", "localhost",
                             "broker.example.com", "broker.example.com.", "my-host", "host_1", "1host"})
        EXPECT_TRUE(isValidHost(good)) << good;
    for (const char* bad : {"", "256.0.0.1", "1.2.3", "127.0.0.1:1883", "[::1]", "::1%", "-host", "host-", "a..b",
                            "host name", "/run/sock", "ho$t", ":::"})
        EXPECT_FALSE(isValidHost(bad)) << bad;
    EXPECT_FALSE(isValidHost(std::string(64, 'a') + ".com"));
    EXPECT_TRUE(isValidHost(std::string(63, 'a') + ".com"));
}

TEST(IsValidUtf8, WellFormedOnly) {
    EXPECT_TRUE(isValidUtf8("plain"));
    EXPECT_TRUE(isValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
    EXPECT_FALSE(isValidUtf8(std::string("a\0b", 3)));
    EXPECT_FALSE(isValidUtf8("\xC0\xAF"));          // overlong '/'
    EXPECT_FALSE(isValidUtf8("\xED\xA0\x80"));      // surrogate
    EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(isValidUtf8("\xE2\x82"));          // truncated
    EXPECT_FALSE(isValidUtf8("\xFF"));
}

}  // namespace
}  // namespace starling::config
