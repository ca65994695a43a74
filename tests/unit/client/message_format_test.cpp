#include <gtest/gtest.h>

#include <cstdlib>

#include "tools/common/message_format.hpp"

using namespace starling;
using namespace starling::tools;

namespace {

struct Utc {
    Utc() {
        setenv("TZ", "UTC", 1);
        tzset();
    }
};

protocol::Publish message(std::string_view topic, std::string_view payload, int qos = 0, bool retain = false) {
    protocol::Publish p;
    p.topic = topic;
    p.payload = payload;
    p.qos = static_cast<protocol::QoS>(qos);
    p.retain = retain;
    p.packet_id = qos ? 7 : 0;
    return p;
}

std::string format(std::string_view fmt, const protocol::Publish& p, bool eol = true) {
    static Utc utc;
    std::string out, errors;
    formatMessage(out, errors, fmt, p, MessageTime{1588801680, 123456789}, {eol, false});
    return out + errors;
}

}  // namespace

TEST(MessageFormat, BasicTokens) {
    auto p = message("a/b", "hello", 1, true);
    EXPECT_EQ(format("%t %p %q %r %l %m %%", p), "a/b hello 1 1 5 7 %\n");
    EXPECT_EQ(format("%x|%X", message("t", "\x01\xab")), "01ab|01AB\n");
    EXPECT_EQ(format("%t", p, false), "a/b");
}

TEST(MessageFormat, WidthPrecisionAndPadding) {
    auto p = message("topic", "abc");
    EXPECT_EQ(format("[%10t][%-10t][%.2t][%05l][%-5l]", p), "[     topic][topic     ][to][00003][3    ]\n");
    EXPECT_EQ(format("[%6p][%-6p][%2p]", p), "[   abc][abc   ][ab]\n");
    // mosquitto_sub halves the byte count for hex output and pads to the width: "[      61]".
    EXPECT_EQ(format("[%8x]", p), "[      61]\n");
}

TEST(MessageFormat, EscapesAndTime) {
    auto p = message("t", "x");
    EXPECT_EQ(format("a\\tb\\\\c\\e", p), std::string("a\tb\\c\033\n"));
    EXPECT_EQ(format("@Y-@m-@d @H:@M:@S.@N @@", p), "2020-05-06 21:48:00.123456789 @\n");
    EXPECT_EQ(format("%I %U", p), "2020-05-06T21:48:00+0000 1588801680.123456789\n");
}

TEST(MessageFormat, JsonEscapedLikeCJson) {
    auto p = message("a/\"b", "he said \"hi\"\n", 1);
    EXPECT_EQ(format("%j", p),
              "{\"tst\":\"2020-05-06T21:48:00.123456Z+0000\",\"topic\":\"a/\\\"b\",\"qos\":1,\"retain\":0,"
              "\"payloadlen\":13,\"mid\":7,\"payload\":\"he said \\\"hi\\\"\\n\"}\n");
}

TEST(MessageFormat, JsonPayloadReprinted) {
    auto p = message("t", "{ \"a\" : [1, 2.50, -0.1, 1e3, true, null, \"\\u00e9\"] }");
    EXPECT_EQ(format("%J", p),
              "{\"tst\":\"2020-05-06T21:48:00.123456Z+0000\",\"topic\":\"t\",\"qos\":0,\"retain\":0,"
              "\"payloadlen\":52,\"payload\":{\"a\":[1,2.5,-0.1,1000,true,null,\"\xc3\xa9\"]}}\n");
    EXPECT_EQ(format("%J", message("t", "not json")), "\nError: Message payload is not valid JSON on topic t.\n");
}

TEST(MessageFormat, V5Properties) {
    auto p = message("t", "x");
    p.properties.content_type = "text/plain";
    p.properties.response_topic = "r/t";
    p.properties.correlation_data = "cd";
    p.properties.message_expiry_interval = 60;
    p.properties.payload_format_indicator = 1;
    p.properties.user_properties = {{"k1", "v1"}, {"k2", "v2"}};
    EXPECT_EQ(format("%C|%R|%D|%E|%F|%P|%A|%S", p), "text/plain|r/t|cd|60|1|k1:v1 k2:v2||\n");
    EXPECT_EQ(format("[%3A][%03S]", message("t", "x")), "[   ][000]\n");
}

TEST(MessageFormat, PlainAndVerbose) {
    std::string out;
    formatPlain(out, message("a", "b"), true, true);
    formatPlain(out, message("a", ""), true, true);
    formatPlain(out, message("a", ""), false, true);
    formatPlain(out, message("a", "c"), false, false);
    EXPECT_EQ(out, "a b\na (null)\nc");
}

TEST(MessageFormat, CheckFormatMessages) {
    std::string e;
    EXPECT_TRUE(checkFormat("%t %-10.3p @Y \\n", e));
    EXPECT_FALSE(checkFormat("%z", e));
    EXPECT_EQ(e, "Error: Invalid format specifier 'z'.");
    EXPECT_FALSE(checkFormat("abc%", e));
    EXPECT_EQ(e, "Error: Incomplete format specifier.");
    EXPECT_FALSE(checkFormat("\\k", e));
    EXPECT_EQ(e, "Error: Invalid escape specifier 'k'.");
}
