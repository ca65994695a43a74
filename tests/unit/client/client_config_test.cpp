#include <gtest/gtest.h>

#include <vector>

#include "tools/common/client_config.hpp"

using namespace starling;
using namespace starling::tools;

namespace {

ParseStatus parse(ClientConfig& cfg, ToolKind kind, std::vector<const char*> args, std::string& err) {
    args.insert(args.begin(), "tool");
    return parseClientConfig(cfg, kind, static_cast<int>(args.size()), args.data(), err);
}

}  // namespace

TEST(ClientConfig, PubFlags) {
    ClientConfig cfg;
    std::string err;
    ASSERT_EQ(parse(cfg, ToolKind::kPub,
                    {"-h", "example", "-p", "1884", "-t", "a/b", "-m", "hi", "-q", "2", "-r", "-i", "me", "-c", "-k",
                     "30", "-V", "mqttv31"},
                    err),
              ParseStatus::kOk)
        << err;
    EXPECT_EQ(cfg.host, "example");
    EXPECT_EQ(cfg.port, 1884);
    EXPECT_EQ(cfg.topic, "a/b");
    EXPECT_EQ(cfg.message, "hi");
    EXPECT_EQ(cfg.qos, 2);
    EXPECT_TRUE(cfg.retain);
    EXPECT_FALSE(cfg.clean_session);
    EXPECT_EQ(cfg.version, protocol::ProtocolVersion::kV31);
}

TEST(ClientConfig, MosquittoErrorTexts) {
    ClientConfig cfg;
    std::string err;
    EXPECT_EQ(parse(cfg, ToolKind::kPub, {"-q", "3"}, err), ParseStatus::kError);
    EXPECT_EQ(err, "Error: Invalid QoS given: 3\n");
    EXPECT_EQ(parse(cfg, ToolKind::kPub, {"-p"}, err), ParseStatus::kError);
    EXPECT_EQ(err, "Error: -p argument given but no port specified.\n\n");
    EXPECT_EQ(parse(cfg, ToolKind::kPub, {"-C", "1"}, err), ParseStatus::kError);
    EXPECT_EQ(err, "Error: Unknown option '-C'.\n");
    EXPECT_EQ(parse(cfg, ToolKind::kPub, {"-t", "a/#"}, err), ParseStatus::kError);
    EXPECT_EQ(err, "Error: Invalid publish topic 'a/#', does it contain '+' or '#'?\n");
    EXPECT_EQ(parse(cfg, ToolKind::kSub, {}, err), ParseStatus::kError);
    EXPECT_EQ(err, "Error: You must specify a topic to subscribe to.\n");
    EXPECT_EQ(parse(cfg, ToolKind::kSub, {"-t", "a", "-c"}, err), ParseStatus::kError);
    EXPECT_EQ(err, "Error: You must provide a client id if you are using the -c option.\n");
    EXPECT_EQ(parse(cfg, ToolKind::kSub, {"-t", "a", "-W", "0"}, err), ParseStatus::kError);
    EXPECT_EQ(err, "Error: Invalid timeout \"0\".\n\n");
    EXPECT_EQ(parse(cfg, ToolKind::kPub, {"-D", "publish", "payload-format-indicator", "300"}, err),
              ParseStatus::kError);
    EXPECT_EQ(err, "Error: Property value (300) out of range for property payload-format-indicator.\n\n");
    EXPECT_EQ(parse(cfg, ToolKind::kPub, {"-D", "connect", "content-type", "x"}, err), ParseStatus::kError);
    EXPECT_EQ(err, "Error: content-type property not allowed for connect in --property argument.\n\n");
}

TEST(ClientConfig, PropertiesSwitchToV5) {
    ClientConfig cfg;
    std::string err;
    ASSERT_EQ(parse(cfg, ToolKind::kPub,
                    {"-t", "t", "-m", "x", "-D", "publish", "user-property", "k", "v", "-D", "publish", "content-type",
                     "text/plain"},
                    err),
              ParseStatus::kOk)
        << err;
    EXPECT_EQ(cfg.version, protocol::ProtocolVersion::kV5);
    ASSERT_EQ(cfg.publish_props.view().user_properties.size(), 1u);
    EXPECT_EQ(cfg.publish_props.view().user_properties[0].name, "k");
    EXPECT_EQ(*cfg.publish_props.view().content_type, "text/plain");
}

TEST(ClientConfig, UrlCarriesCredentialsHostPortTopic) {
    ClientConfig cfg;
    std::string err;
    ASSERT_EQ(parse(cfg, ToolKind::kSub, {"-L", "mqtt://user:pass@broker:1999/a/+"}, err), ParseStatus::kOk) << err;
    EXPECT_EQ(*cfg.username, "user");
    EXPECT_EQ(*cfg.password, "pass");
    EXPECT_EQ(cfg.host, "broker");
    EXPECT_EQ(cfg.port, 1999);
    ASSERT_EQ(cfg.topics.size(), 1u);
    EXPECT_EQ(cfg.topics[0], "a/+");
}

TEST(ClientConfig, PersistentV5SessionNeverExpires) {
    ClientConfig cfg;
    std::string err;
    ASSERT_EQ(parse(cfg, ToolKind::kSub, {"-t", "a", "-c", "-i", "Sub1", "-V", "5"}, err), ParseStatus::kOk) << err;
    EXPECT_EQ(*cfg.connect_props.view().session_expiry_interval, 4294967295u);
    auto opts = toClientOptions(cfg, 42);
    EXPECT_EQ(opts.client_id, "Sub1");
    EXPECT_FALSE(opts.clean_start);
}
