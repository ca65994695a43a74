// Directive by directive: defaults, happy paths, and the file:line errors for wrong values.
#include <gtest/gtest.h>

#include <limits>

#include "config/config.hpp"

namespace starling::config {
namespace {

Config parse(const std::string& text) {
    return parseConfig(text, "t.conf");
}

// The message of the ConfigError that parsing `text` throws; fails the test if none is thrown.
std::string errorOf(const std::string& text) {
    try {
        parse(text);
    } catch (const ConfigError& e) {
        return e.what();
    }
    ADD_FAILURE() << "no error for:\n" << text;
    return "";
}

TEST(ConfigDefaults, EmptyFileKeepsEveryDefault) {
    Config c = parse("");
    EXPECT_TRUE(c.listeners.empty());
    EXPECT_EQ(c.worker_threads, 0u);
    EXPECT_FALSE(c.allow_anonymous.has_value());
    EXPECT_EQ(c.max_connections, -1);
    EXPECT_EQ(c.max_keepalive, 65535);
    EXPECT_EQ(c.message_size_limit, 0u);
    EXPECT_EQ(c.max_packet_size, 0u);
    EXPECT_EQ(c.max_inflight_messages, 20);
    EXPECT_EQ(c.max_queued_messages, 1000u);
    EXPECT_EQ(c.max_queued_bytes, 0u);
    EXPECT_FALSE(c.queue_qos0_messages);
    EXPECT_TRUE(c.retain_available);
    EXPECT_TRUE(c.allow_zero_length_clientid);
    EXPECT_EQ(c.auto_id_prefix, "auto-");
    EXPECT_EQ(c.sys_interval, 10u);
    EXPECT_EQ(c.output_limit_soft, 8ull << 20);
    EXPECT_EQ(c.output_limit_hard, 32ull << 20);
    EXPECT_EQ(c.output_limit_soft_seconds, 10u);
    EXPECT_TRUE(c.log_dest.empty());
    EXPECT_TRUE(c.log_type.empty());
    EXPECT_TRUE(c.log_timestamp);
    EXPECT_EQ(c.log_timestamp_format, "");
    EXPECT_EQ(c.pid_file, "");
    EXPECT_EQ(c.user, "");
    EXPECT_TRUE(c.warnings.empty());
    EXPECT_EQ(c.source_path, "");
    EXPECT_FALSE(c.http_listener.has_value());
    EXPECT_EQ(c.http_auth_token_file, "");
}

TEST(ConfigSyntax, CommentsBlankLinesWhitespaceAndCrlfAreTolerated) {
    Config c = parse(
        "# a comment\r\n"
        "\r\n"
        "   \t\n"
        "   # an indented comment\n"
        "  max_keepalive   60  \r\n"
        "\tretain_available\tfalse\n"
        "sys_interval 5");  // no final newline
    EXPECT_EQ(c.max_keepalive, 60);
    EXPECT_FALSE(c.retain_available);
    EXPECT_EQ(c.sys_interval, 5u);
}

TEST(ConfigSyntax, LeadingUtf8BomIsIgnored) {
    EXPECT_EQ(parse("\xEF\xBB\xBFmax_keepalive 30\n").max_keepalive, 30);
}

TEST(ConfigSyntax, TrailingCommentAfterTheValuesIsAccepted) {
    // Mosquitto ignores what follows the values it reads; existing files rely on it.
    Config c = parse("listener 1883 # plain MQTT\nmax_keepalive 60 #one minute\n");
    ASSERT_EQ(c.listeners.size(), 1u);
    EXPECT_EQ(c.listeners[0].address, "");
    EXPECT_EQ(c.max_keepalive, 60);
}

TEST(ConfigSyntax, DirectivesAreCaseSensitive) {
    EXPECT_EQ(errorOf("Max_Keepalive 60\n"), "t.conf:1: unknown directive 'Max_Keepalive'");
}

TEST(ConfigErrors, UnknownDirectiveNamesFileAndLine) {
    EXPECT_EQ(errorOf("# header\n\nmax_keepalive 60\nfoo bar\n"), "t.conf:4: unknown directive 'foo'");
}

TEST(ConfigErrors, CountsLinesWithCrlf) {
    EXPECT_EQ(errorOf("max_keepalive 60\r\n\r\nbogus\r\n"), "t.conf:3: unknown directive 'bogus'");
}

TEST(ConfigErrors, MissingValue) {
    EXPECT_EQ(errorOf("max_keepalive\n"), "t.conf:1: 'max_keepalive' needs a value");
    EXPECT_EQ(errorOf("allow_anonymous   \n"), "t.conf:1: 'allow_anonymous' needs a value");
    EXPECT_EQ(errorOf("auto_id_prefix\n"), "t.conf:1: 'auto_id_prefix' needs a value");
    EXPECT_EQ(errorOf("listener\n"), "t.conf:1: 'listener' needs a port");
    EXPECT_EQ(errorOf("log_dest\n"), "t.conf:1: 'log_dest' needs a destination");
    EXPECT_EQ(errorOf("log_dest file\n"), "t.conf:1: 'log_dest file' needs a path");
}

TEST(ConfigErrors, ExtraValue) {
    EXPECT_EQ(errorOf("max_keepalive 60 70\n"), "t.conf:1: 'max_keepalive' takes one value, got 2: '60 70'");
    EXPECT_EQ(errorOf("retain_available true false\n"),
              "t.conf:1: 'retain_available' takes one value, got 2: 'true false'");
    EXPECT_EQ(errorOf("listener 1883 0.0.0.0 extra\n"),
              "t.conf:1: 'listener' takes a port and an optional address, got '1883 0.0.0.0 extra'");
    EXPECT_EQ(errorOf("log_dest stdout stderr\n"), "t.conf:1: 'log_dest stdout' takes no further value");
}

TEST(ConfigErrors, BadIntegers) {
    EXPECT_EQ(errorOf("max_keepalive abc\n"), "t.conf:1: 'max_keepalive' expects an integer, got 'abc'");
    EXPECT_EQ(errorOf("max_keepalive 60s\n"), "t.conf:1: 'max_keepalive' expects an integer, got '60s'");
    EXPECT_EQ(errorOf("max_keepalive +60\n"), "t.conf:1: 'max_keepalive' expects an integer, got '+60'");
    EXPECT_EQ(errorOf("max_keepalive 0x10\n"), "t.conf:1: 'max_keepalive' expects an integer, got '0x10'");
    EXPECT_EQ(errorOf("max_keepalive 65536\n"), "t.conf:1: 'max_keepalive' must be between 0 and 65535, got '65536'");
    EXPECT_EQ(errorOf("max_keepalive -1\n"), "t.conf:1: 'max_keepalive' must be between 0 and 65535, got '-1'");
    EXPECT_EQ(errorOf("max_queued_bytes 99999999999999999999999\n"),
              "t.conf:1: 'max_queued_bytes' must be between 0 and 18446744073709551615, got "
              "'99999999999999999999999'");
}

TEST(ConfigErrors, BadBooleans) {
    EXPECT_EQ(errorOf("allow_anonymous yes\n"), "t.conf:1: 'allow_anonymous' expects true or false, got 'yes'");
    EXPECT_EQ(errorOf("retain_available True\n"), "t.conf:1: 'retain_available' expects true or false, got 'True'");
}

TEST(ConfigErrors, TheFirstErrorStopsTheParse) {
    EXPECT_EQ(errorOf("max_keepalive 60\nbad_one 1\nbad_two 2\n"), "t.conf:2: unknown directive 'bad_one'");
}

// ---- Not supported yet

class NotSupportedYet : public testing::TestWithParam<const char*> {};

TEST_P(NotSupportedYet, IsRefusedByName) {
    std::string directive = GetParam();
    EXPECT_EQ(errorOf("max_keepalive 60\n" + directive + " x\n"), "t.conf:2: '" + directive + "' is not supported yet");
}

INSTANTIATE_TEST_SUITE_P(LaterIssues, NotSupportedYet,
                         testing::Values("use_username_as_clientid",

                                         "persistent_client_expiration", "connection", "address", "topic",
                                         "bridge_cafile", "bridge_protocol_version", "remote_username",
                                         "remote_clientid", "cleansession", "start_type", "try_private",
                                         "notifications", "plugin", "auth_plugin", "auth_opt_db_host",
                                         "plugin_opt_path", "websockets_log_level", "http_dir", "socket_domain",
                                         "mount_point", "clientid_prefixes", "check_retain_source", "set_tcp_nodelay",
                                         "upgrade_outgoing_qos", "memory_limit", "bind_interface", "max_qos",
                                         "connection_messages", "max_inflight_bytes", "log_facility"));

TEST(Listeners, WebsocketsProtocol) {
    auto c = parse("listener 8080\nprotocol websockets\nlistener 1883\n");
    ASSERT_EQ(c.listeners.size(), 2u);
    EXPECT_EQ(c.listeners[0].protocol, "websockets");
    EXPECT_EQ(c.listeners[1].protocol, "mqtt");
    EXPECT_EQ(errorOf("listener 8080\nprotocol http\n"), "t.conf:2: 'protocol' must be mqtt or websockets, got 'http'");
}

TEST(PerListenerSettings, AuthenticationSettingsGoToTheirListener) {
    auto c = parse(
        "per_listener_settings true\npassword_file /global\nlistener 1883\nallow_anonymous true\n"
        "listener 8883\npassword_file /pw2\nacl_file /acl2\nallow_anonymous false\n");
    EXPECT_TRUE(c.per_listener_settings);
    EXPECT_EQ(c.password_file, "/global");
    ASSERT_EQ(c.listeners.size(), 2u);
    EXPECT_EQ(c.listeners[0].allow_anonymous, true);
    EXPECT_FALSE(c.listeners[0].password_file);
    EXPECT_EQ(c.listeners[1].password_file, "/pw2");
    EXPECT_EQ(c.listeners[1].acl_file, "/acl2");
    EXPECT_EQ(c.listeners[1].allow_anonymous, false);
    // Without it, the same lines are global (and a second password_file is an error).
    EXPECT_EQ(parse("listener 1883\nallow_anonymous true\n").allow_anonymous, true);
    EXPECT_EQ(errorOf("listener 1883\nper_listener_settings true\n"),
              "t.conf:2: 'per_listener_settings' must come before the first 'listener'");
    EXPECT_EQ(errorOf("per_listener_settings true\nlistener 1\nacl_file /a\nacl_file /b\n").rfind("t.conf:4:", 0), 0u);
}

TEST(NotSupportedYetValues, UnixSocketListener) {
    EXPECT_EQ(errorOf("listener 0 /run/mosquitto.sock\n"),
              "t.conf:1: unix socket listeners ('/run/mosquitto.sock') are not supported yet");
}

TEST(NotSupportedYetValues, PrefixAloneIsUnknown) {
    EXPECT_EQ(errorOf("bridge_ x\n"), "t.conf:1: unknown directive 'bridge_'");
}

// ---- Listeners

TEST(Listeners, PortAndAddressStartABlock) {
    Config c = parse(
        "listener 1883\n"
        "listener 8883 127.0.0.1\n"
        "listener 1884 ::1\n"
        "listener 1885 broker.example.com\n"
        "listener 0 localhost\n");
    ASSERT_EQ(c.listeners.size(), 5u);
    EXPECT_EQ(c.listeners[0].port, 1883);
    EXPECT_EQ(c.listeners[0].address, "");
    EXPECT_EQ(c.listeners[0].protocol, "mqtt");
    EXPECT_EQ(c.listeners[0].max_connections, -1);
    EXPECT_EQ(c.listeners[0].source, "t.conf:1");
    EXPECT_EQ(c.listeners[1].port, 8883);
    EXPECT_EQ(c.listeners[1].address, "127.0.0.1");
    EXPECT_EQ(c.listeners[2].address, "::1");
    EXPECT_EQ(c.listeners[3].address, "broker.example.com");
    EXPECT_EQ(c.listeners[4].port, 0);  // a free port, picked at bind time
    EXPECT_EQ(c.listeners[4].source, "t.conf:5");
    EXPECT_TRUE(c.warnings.empty());
}

TEST(Listeners, BadPortOrAddress) {
    EXPECT_EQ(errorOf("listener 65536\n"), "t.conf:1: 'listener port' must be between 0 and 65535, got '65536'");
    EXPECT_EQ(errorOf("listener -1\n"), "t.conf:1: 'listener port' must be between 0 and 65535, got '-1'");
    EXPECT_EQ(errorOf("listener mqtt\n"), "t.conf:1: 'listener port' expects an integer, got 'mqtt'");
    EXPECT_EQ(errorOf("listener 1883 0.0.0.0:1883\n"),
              "t.conf:1: 'listener' address '0.0.0.0:1883' is not an IP address or host name");
    EXPECT_EQ(errorOf("listener 1883 [::1]\n"),
              "t.conf:1: 'listener' address '[::1]' is not an IP address or host name");
    EXPECT_EQ(errorOf("listener 1883 10.0.0.256\n"),
              "t.conf:1: 'listener' address '10.0.0.256' is not an IP address or host name");
}

TEST(Listeners, MaxConnectionsIsGlobalBeforeAnyListenerAndPerListenerInside) {
    Config c = parse(
        "max_connections 1000\n"
        "listener 1883\n"
        "max_connections 10\n"
        "listener 1884\n"
        "max_connections -1\n"
        "listener 1885\n");
    EXPECT_EQ(c.max_connections, 1000);
    ASSERT_EQ(c.listeners.size(), 3u);
    EXPECT_EQ(c.listeners[0].max_connections, 10);
    EXPECT_EQ(c.listeners[1].max_connections, -1);
    EXPECT_EQ(c.listeners[2].max_connections, -1);
    EXPECT_EQ(errorOf("max_connections -2\n"),
              "t.conf:1: 'max_connections' must be between -1 and 2147483647, got '-2'");
}

TEST(Listeners, GlobalDirectivesInsideABlockStayGlobal) {
    Config c = parse("listener 1883\nmax_keepalive 30\nallow_anonymous true\n");
    EXPECT_EQ(c.max_keepalive, 30);
    EXPECT_EQ(c.allow_anonymous, true);
}

TEST(Listeners, ProtocolMqtt) {
    Config c = parse("listener 1883\nprotocol mqtt\n");
    EXPECT_EQ(c.listeners.at(0).protocol, "mqtt");
    EXPECT_EQ(errorOf("listener 1883\nprotocol mqttsn\n"),
              "t.conf:2: 'protocol' must be mqtt or websockets, got 'mqttsn'");
    // Before any listener it is the default listener's, which is mqtt already (Mosquitto accepts it there).
    EXPECT_TRUE(parse("protocol mqtt\n").listeners.empty());
}

TEST(Listeners, SamePortAndAddressTwiceIsRefused) {
    EXPECT_EQ(errorOf("listener 1883\nlistener 1884\nlistener 1883\n"),
              "t.conf:3: a listener on port 1883 (all addresses) is already defined at t.conf:1");
    EXPECT_EQ(errorOf("listener 1883 127.0.0.1\nlistener 1883 127.0.0.1\n"),
              "t.conf:2: a listener on port 1883 on 127.0.0.1 is already defined at t.conf:1");
    // Different addresses, or port 0 (each picks its own port), are fine.
    EXPECT_EQ(parse("listener 1883 127.0.0.1\nlistener 1883 ::1\nlistener 0\nlistener 0\n").listeners.size(), 4u);
}

TEST(LegacyListener, PortMakesTheDefaultListener) {
    Config c = parse("port 1884\n");
    ASSERT_EQ(c.listeners.size(), 1u);
    EXPECT_EQ(c.listeners[0].port, 1884);
    EXPECT_EQ(c.listeners[0].address, "");
    EXPECT_EQ(c.listeners[0].source, "t.conf:1");
    ASSERT_EQ(c.warnings.size(), 1u);
    EXPECT_EQ(c.warnings[0], "t.conf:1: 'port' is deprecated, use 'listener' instead");
}

TEST(LegacyListener, BindAddressAloneListensOn1883) {
    Config c = parse("bind_address 127.0.0.1\n");
    ASSERT_EQ(c.listeners.size(), 1u);
    EXPECT_EQ(c.listeners[0].port, 1883);
    EXPECT_EQ(c.listeners[0].address, "127.0.0.1");
}

TEST(LegacyListener, PortAndBindAddressTogetherAndBesideOtherListeners) {
    Config c = parse("listener 8883\nbind_address localhost\nport 1884\n");
    ASSERT_EQ(c.listeners.size(), 2u);
    EXPECT_EQ(c.listeners[0].port, 8883);
    EXPECT_EQ(c.listeners[1].port, 1884);  // after the explicit ones, as Mosquitto adds it
    EXPECT_EQ(c.listeners[1].address, "localhost");
    EXPECT_EQ(c.listeners[1].source, "t.conf:2");
    EXPECT_EQ(c.warnings.size(), 2u);
}

TEST(LegacyListener, PortTwiceWarnsAndTheLastWins) {
    Config c = parse("port 1884\nport 1885\n");
    ASSERT_EQ(c.listeners.size(), 1u);
    EXPECT_EQ(c.listeners[0].port, 1885);
    ASSERT_EQ(c.warnings.size(), 3u);
    EXPECT_EQ(c.warnings[2], "t.conf:2: the default listener's port is set twice, the last one is used");
}

TEST(LegacyListener, Errors) {
    EXPECT_EQ(errorOf("bind_address 127.0.0.1\nbind_address ::1\n"),
              "t.conf:2: 'bind_address' is set twice (first at t.conf:1)");
    EXPECT_EQ(errorOf("bind_address bad/addr\n"),
              "t.conf:1: 'bind_address' 'bad/addr' is not an IP address or host name");
    EXPECT_EQ(errorOf("port 70000\n"), "t.conf:1: 'port' must be between 0 and 65535, got '70000'");
    EXPECT_EQ(errorOf("listener 1883\nport 1883\n"),
              "t.conf:2: a listener on port 1883 (all addresses) is already defined at t.conf:1");
}

// ---- General settings

TEST(General, IntegerSettings) {
    Config c = parse(
        "worker_threads 4\n"
        "max_keepalive 120\n"
        "message_size_limit 1048576\n"
        "max_packet_size 2097152\n"
        "max_inflight_messages 1\n"
        "max_queued_messages 0\n"
        "max_queued_bytes 104857600\n"
        "sys_interval 0\n");
    EXPECT_EQ(c.worker_threads, 4u);
    EXPECT_EQ(c.max_keepalive, 120);
    EXPECT_EQ(c.message_size_limit, 1048576u);
    EXPECT_EQ(c.max_packet_size, 2097152u);
    EXPECT_EQ(c.max_inflight_messages, 1);
    EXPECT_EQ(c.max_queued_messages, 0u);
    EXPECT_EQ(c.max_queued_bytes, 104857600u);
    EXPECT_EQ(c.sys_interval, 0u);
    EXPECT_TRUE(c.warnings.empty());
}

TEST(General, IntegerRanges) {
    EXPECT_EQ(parse("worker_threads 256\n").worker_threads, 256u);
    EXPECT_EQ(errorOf("worker_threads 257\n"), "t.conf:1: 'worker_threads' must be between 0 and 256, got '257'");
    EXPECT_EQ(parse("max_keepalive 65535\n").max_keepalive, 65535);
    EXPECT_EQ(parse("message_size_limit 268435455\n").message_size_limit, 268435455u);
    EXPECT_EQ(errorOf("message_size_limit 268435456\n"),
              "t.conf:1: 'message_size_limit' must be between 0 and 268435455, got '268435456'");
    EXPECT_EQ(parse("max_packet_size 20\n").max_packet_size, 20u);
    EXPECT_EQ(parse("max_packet_size 0\n").max_packet_size, 0u);
    EXPECT_EQ(errorOf("max_packet_size 19\n"),
              "t.conf:1: 'max_packet_size' must be 0 (no limit) or between 20 and 268435460, got '19'");
    EXPECT_EQ(errorOf("max_packet_size 268435461\n"),
              "t.conf:1: 'max_packet_size' must be between 0 and 268435460, got '268435461'");
    EXPECT_EQ(parse("max_inflight_messages 65535\n").max_inflight_messages, 65535);
    EXPECT_EQ(errorOf("max_inflight_messages 65536\n"),
              "t.conf:1: 'max_inflight_messages' must be between 0 and 65535, got '65536'");
    EXPECT_EQ(parse("max_queued_messages 4294967295\n").max_queued_messages, 4294967295u);
    EXPECT_EQ(errorOf("max_queued_messages 4294967296\n"),
              "t.conf:1: 'max_queued_messages' must be between 0 and 4294967295, got '4294967296'");
    EXPECT_EQ(errorOf("sys_interval -5\n"), "t.conf:1: 'sys_interval' must be between 0 and 4294967295, got '-5'");
}

TEST(General, ShortKeepaliveWarns) {
    Config c = parse("max_keepalive 5\n");
    EXPECT_EQ(c.max_keepalive, 5);
    ASSERT_EQ(c.warnings.size(), 1u);
    EXPECT_EQ(c.warnings[0], "t.conf:1: 'max_keepalive' below 10 seconds is not recommended");
}

TEST(General, BooleanSettings) {
    Config c = parse(
        "allow_anonymous false\n"
        "queue_qos0_messages true\n"
        "retain_available false\n"
        "allow_zero_length_clientid false\n"
        "log_timestamp false\n");
    EXPECT_EQ(c.allow_anonymous, false);
    EXPECT_TRUE(c.queue_qos0_messages);
    EXPECT_FALSE(c.retain_available);
    EXPECT_FALSE(c.allow_zero_length_clientid);
    EXPECT_FALSE(c.log_timestamp);
    EXPECT_EQ(parse("allow_anonymous true\n").allow_anonymous, true);
}

TEST(General, BooleansAlsoTakeOneAndZeroLikeMosquitto) {
    EXPECT_EQ(parse("allow_anonymous 1\n").allow_anonymous, true);
    EXPECT_FALSE(parse("retain_available 0\n").retain_available);
}

TEST(General, AutoIdPrefixIsTheRestOfTheLine) {
    EXPECT_EQ(parse("auto_id_prefix gen-\n").auto_id_prefix, "gen-");
    EXPECT_EQ(parse("auto_id_prefix   my prefix  \n").auto_id_prefix, "my prefix");
    EXPECT_EQ(errorOf("auto_id_prefix a\nauto_id_prefix b\n"),
              "t.conf:2: 'auto_id_prefix' is set twice (first at t.conf:1)");
    EXPECT_EQ(errorOf("auto_id_prefix \xC0\xAF\n"), "t.conf:1: 'auto_id_prefix' value is not valid UTF-8");
}

TEST(General, OutputLimitTakesSizesWithUnits) {
    Config c = parse("output_limit 8mb 32mb 10\n");
    EXPECT_EQ(c.output_limit_soft, 8ull << 20);
    EXPECT_EQ(c.output_limit_hard, 32ull << 20);
    EXPECT_EQ(c.output_limit_soft_seconds, 10u);
    c = parse("output_limit 512kb 2MB 0\n");
    EXPECT_EQ(c.output_limit_soft, 512u * 1024);
    EXPECT_EQ(c.output_limit_hard, 2u << 20);
    EXPECT_EQ(c.output_limit_soft_seconds, 0u);
    c = parse("output_limit 1000 1g 60\n");
    EXPECT_EQ(c.output_limit_soft, 1000u);
    EXPECT_EQ(c.output_limit_hard, 1000000000u);
}

TEST(General, OutputLimitZeroMeansNoLimit) {
    Config c = parse("output_limit 0 0 10\n");
    EXPECT_EQ(c.output_limit_soft, std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(c.output_limit_hard, std::numeric_limits<uint64_t>::max());
    c = parse("output_limit 0 16mb 10\n");
    EXPECT_EQ(c.output_limit_soft, std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(c.output_limit_hard, 16u << 20);
    c = parse("output_limit 4mb 0 10\n");
    EXPECT_EQ(c.output_limit_soft, 4u << 20);
    EXPECT_EQ(c.output_limit_hard, std::numeric_limits<uint64_t>::max());
}

TEST(General, OutputLimitErrors) {
    EXPECT_EQ(errorOf("output_limit 8mb 32mb\n"),
              "t.conf:1: 'output_limit' takes SOFT_BYTES HARD_BYTES SOFT_SECONDS (e.g. output_limit 8mb 32mb 10), got "
              "'8mb 32mb'");
    EXPECT_EQ(errorOf("output_limit\n"),
              "t.conf:1: 'output_limit' takes SOFT_BYTES HARD_BYTES SOFT_SECONDS (e.g. output_limit 8mb 32mb 10), got "
              "nothing");
    EXPECT_EQ(errorOf("output_limit 8xb 32mb 10\n"),
              "t.conf:1: 'output_limit' expects a size such as 8mb, 512kb or 1048576, got '8xb'");
    EXPECT_EQ(errorOf("output_limit 32mb 8mb 10\n"),
              "t.conf:1: 'output_limit' soft limit '32mb' is above the hard limit '8mb'");
    EXPECT_EQ(errorOf("output_limit 8mb 32mb 10s\n"), "t.conf:1: 'output_limit seconds' expects an integer, got '10s'");
}

TEST(General, PersistenceQueueMemoryTakesSizesWithUnits) {
    EXPECT_EQ(parse("").persistence_queue_memory, 256ull << 20);
    EXPECT_EQ(parse("persistence_queue_memory 64kb\n").persistence_queue_memory, 64u * 1024);
    EXPECT_EQ(parse("persistence_queue_memory 1GB\n").persistence_queue_memory, 1ull << 30);
    EXPECT_EQ(parse("persistence_queue_memory 5m\n").persistence_queue_memory, 5'000'000u);
    EXPECT_EQ(parse("persistence_queue_memory 4096\n").persistence_queue_memory, 4096u);
    EXPECT_EQ(parse("persistence_queue_memory 0\n").persistence_queue_memory, 0u);  // no limit
    EXPECT_EQ(parse("").persistence_retained_memory, 256ull << 20);
    EXPECT_EQ(parse("persistence_retained_memory 1mb\n").persistence_retained_memory, 1u << 20);
    EXPECT_EQ(parse("persistence_retained_memory 0\n").persistence_retained_memory, 0u);
}

TEST(General, PersistenceQueueMemoryErrors) {
    EXPECT_EQ(errorOf("persistence_queue_memory 64 kb\n"),
              "t.conf:1: 'persistence_queue_memory' takes one value, got 2: '64 kb'");
    EXPECT_EQ(errorOf("persistence_queue_memory 8xb\n"),
              "t.conf:1: 'persistence_queue_memory' expects a size such as 8mb, 512kb or 1048576, got '8xb'");
    EXPECT_EQ(errorOf("persistence_queue_memory -1\n"),
              "t.conf:1: 'persistence_queue_memory' expects a size such as 8mb, 512kb or 1048576, got '-1'");
}

TEST(General, PidFileAndUserAreStored) {
    Config c = parse("pid_file /run/starling/starling.pid\nuser mosquitto\n");
    EXPECT_EQ(c.pid_file, "/run/starling/starling.pid");
    EXPECT_EQ(c.user, "mosquitto");
    EXPECT_EQ(errorOf("pid_file /a\npid_file /b\n"), "t.conf:2: 'pid_file' is set twice (first at t.conf:1)");
    EXPECT_EQ(errorOf("user\n"), "t.conf:1: 'user' needs a value");
}

TEST(General, RetryIntervalIsObsoleteAndWarns) {
    Config c = parse("retry_interval 20\n");
    ASSERT_EQ(c.warnings.size(), 1u);
    EXPECT_EQ(c.warnings[0], "t.conf:1: 'retry_interval' is obsolete and has no effect");
}

// ---- Logging

TEST(Logging, LogDestAccumulates) {
    Config c = parse(
        "log_dest stdout\n"
        "log_dest stderr\n"
        "log_dest syslog\n"
        "log_dest topic\n"
        "log_dest file /var/log/starling/broker log.txt\n"
        "log_dest stdout\n");  // again: no duplicate
    ASSERT_EQ(c.log_dest.size(), 5u);
    EXPECT_EQ(c.log_dest[0].dest, LogDest::kStdout);
    EXPECT_EQ(c.log_dest[1].dest, LogDest::kStderr);
    EXPECT_EQ(c.log_dest[2].dest, LogDest::kSyslog);
    EXPECT_EQ(c.log_dest[3].dest, LogDest::kTopic);
    EXPECT_EQ(c.log_dest[4].dest, LogDest::kFile);
    EXPECT_EQ(c.log_dest[4].path, "/var/log/starling/broker log.txt");
}

TEST(Logging, LogDestNoneClearsAndIsReplacedByALaterDestination) {
    Config c = parse("log_dest stdout\nlog_dest none\n");
    ASSERT_EQ(c.log_dest.size(), 1u);
    EXPECT_EQ(c.log_dest[0].dest, LogDest::kNone);
    c = parse("log_dest none\nlog_dest stderr\n");
    ASSERT_EQ(c.log_dest.size(), 1u);
    EXPECT_EQ(c.log_dest[0].dest, LogDest::kStderr);
}

TEST(Logging, LogDestErrors) {
    EXPECT_EQ(errorOf("log_dest printer\n"),
              "t.conf:1: 'log_dest' must be stdout, stderr, file PATH, syslog, topic or none, got 'printer'");
    EXPECT_EQ(errorOf("log_dest file /a.log\nlog_dest file /b.log\n"),
              "t.conf:2: only one 'log_dest file' may be given");
}

TEST(Logging, LogTypeAccumulates) {
    Config c = parse("log_type error\nlog_type warning\nlog_type subscribe\nlog_type websockets\n");
    EXPECT_EQ(c.log_type, (std::set<std::string>{"error", "warning", "subscribe", "websockets"}));
    c = parse("log_type all\n");
    EXPECT_EQ(c.log_type, (std::set<std::string>{"all"}));
    c = parse("log_type debug\nlog_type information\nlog_type notice\nlog_type unsubscribe\n");
    EXPECT_EQ(c.log_type, (std::set<std::string>{"debug", "information", "notice", "unsubscribe"}));
}

TEST(Logging, LogTypeNoneClearsAndIsReplacedByALaterType) {
    EXPECT_EQ(parse("log_type error\nlog_type none\n").log_type, (std::set<std::string>{"none"}));
    EXPECT_EQ(parse("log_type none\nlog_type error\n").log_type, (std::set<std::string>{"error"}));
}

TEST(Logging, LogTypeErrors) {
    EXPECT_EQ(errorOf("log_type verbose\n"),
              "t.conf:1: 'log_type' must be one of debug, error, warning, notice, information, subscribe, "
              "unsubscribe, websockets, none, all; got 'verbose'");
    EXPECT_EQ(errorOf("log_type error warning\n"), "t.conf:1: 'log_type' takes one value, got 2: 'error warning'");
}

TEST(Logging, TimestampFormatKeepsSpaces) {
    Config c = parse("log_timestamp true\nlog_timestamp_format %Y-%m-%d %H:%M:%S\n");
    EXPECT_TRUE(c.log_timestamp);
    EXPECT_EQ(c.log_timestamp_format, "%Y-%m-%d %H:%M:%S");
    EXPECT_EQ(errorOf("log_timestamp_format %s\nlog_timestamp_format %s\n"),
              "t.conf:2: 'log_timestamp_format' is set twice (first at t.conf:1)");
}

TEST(Mqtt5Directives, TopicAliasAndSharedStrategy) {
    auto c = parse("max_topic_alias 0\nshared_subscription_strategy hash_topic\n");
    EXPECT_EQ(c.max_topic_alias, 0);
    EXPECT_EQ(c.shared_subscription_strategy, "hash_topic");
    EXPECT_EQ(parse("").max_topic_alias, 10);
    EXPECT_EQ(errorOf("max_topic_alias 70000\n").rfind("t.conf:1:", 0), 0u);
    EXPECT_EQ(errorOf("shared_subscription_strategy best\n").rfind("t.conf:1:", 0), 0u);
}

// ---- Authentication and authorisation

TEST(Auth, PasswordAndAclFilesAreStoredAsWritten) {
    Config c = parse("password_file /etc/mosquitto/passwd\nlistener 1883\nacl_file /etc/mosquitto/my acl\n");
    EXPECT_EQ(c.password_file, "/etc/mosquitto/passwd");
    EXPECT_EQ(c.acl_file, "/etc/mosquitto/my acl");  // the rest of the line, as in Mosquitto
    Config d = parse("");
    EXPECT_EQ(d.password_file, "");
    EXPECT_EQ(d.acl_file, "");
    EXPECT_FALSE(d.jwt.enabled());
}

TEST(Auth, PasswordAndAclFilesMayBeGivenOnce) {
    EXPECT_EQ(errorOf("password_file /a\npassword_file /b\n"),
              "t.conf:2: 'password_file' is set twice (first at t.conf:1)");
    EXPECT_EQ(errorOf("acl_file /a\nlistener 1883\nacl_file /b\n"),
              "t.conf:3: 'acl_file' is set twice (first at t.conf:1)");
    EXPECT_EQ(errorOf("password_file\n"), "t.conf:1: 'password_file' needs a value");
}

TEST(Auth, JwtDefaults) {
    Config c = parse("jwt_secret_file /etc/starling/jwt.secret\n");
    EXPECT_TRUE(c.jwt.enabled());
    EXPECT_EQ(c.jwt.secret_file, "/etc/starling/jwt.secret");
    EXPECT_TRUE(c.jwt.algorithms.empty());
    EXPECT_EQ(c.jwt.issuer, "");
    EXPECT_EQ(c.jwt.audience, "");
    EXPECT_EQ(c.jwt.username_claim, "sub");
    EXPECT_EQ(c.jwt.publish_claim, "pub");
    EXPECT_EQ(c.jwt.subscribe_claim, "subs");
}

TEST(Auth, JwtDirectives) {
    Config c = parse(
        "jwt_key_file /etc/starling/jwt.pem\n"
        "jwt_secret_file /etc/starling/jwt.secret\n"
        "jwt_algorithms RS256 HS256 RS256\n"
        "jwt_issuer https://auth.example.com/realms/iot\n"
        "jwt_audience starling broker\n"
        "jwt_username_claim preferred_username\n"
        "jwt_publish_claim mqtt_pub\n"
        "jwt_subscribe_claim mqtt_sub\n");
    EXPECT_EQ(c.jwt.key_file, "/etc/starling/jwt.pem");
    EXPECT_EQ(c.jwt.algorithms, (std::vector<std::string>{"RS256", "HS256"}));
    EXPECT_EQ(c.jwt.issuer, "https://auth.example.com/realms/iot");
    EXPECT_EQ(c.jwt.audience, "starling broker");
    EXPECT_EQ(c.jwt.username_claim, "preferred_username");
    EXPECT_EQ(c.jwt.publish_claim, "mqtt_pub");
    EXPECT_EQ(c.jwt.subscribe_claim, "mqtt_sub");
}

TEST(Auth, JwtErrors) {
    EXPECT_EQ(errorOf("jwt_secret_file /s\njwt_algorithms HS256 PS256\n"),
              "t.conf:2: 'jwt_algorithms' takes HS256, RS256 and ES256, got 'PS256'");
    EXPECT_EQ(errorOf("jwt_secret_file /s\njwt_algorithms\n"),
              "t.conf:2: 'jwt_algorithms' needs one or more of HS256, RS256, ES256");
    EXPECT_EQ(errorOf("jwt_secret_file /s\njwt_algorithms HS256\njwt_algorithms HS256\n"),
              "t.conf:3: 'jwt_algorithms' is set twice (first at t.conf:2)");
    EXPECT_EQ(errorOf("jwt_secret_file /s\njwt_username_claim a b\n"),
              "t.conf:2: 'jwt_username_claim' takes one value, got 2: 'a b'");
    EXPECT_EQ(errorOf("jwt_key_file /k\njwt_key_file /k2\n"),
              "t.conf:2: 'jwt_key_file' is set twice (first at t.conf:1)");
}

TEST(Auth, JwtSettingsMustFitTogether) {
    EXPECT_EQ(errorOf("max_keepalive 60\njwt_issuer me\n"),
              "t.conf:2: 'jwt_issuer' needs 'jwt_key_file', 'jwt_jwks_file' or 'jwt_secret_file'");
    EXPECT_EQ(errorOf("jwt_algorithms HS256 RS256\njwt_key_file /k.pem\n"),
              "t.conf:1: 'jwt_algorithms' lists HS256 but 'jwt_secret_file' is not set");
    EXPECT_EQ(errorOf("jwt_secret_file /s\njwt_algorithms ES256\n"),
              "t.conf:2: 'jwt_algorithms' lists ES256 but neither 'jwt_key_file' nor 'jwt_jwks_file' is set");
    EXPECT_EQ(errorOf("jwt_secret_file /s\njwt_subscribe_claim sub\n"),
              "t.conf:2: 'jwt_username_claim', 'jwt_publish_claim' and 'jwt_subscribe_claim' must name different "
              "claims, got 'sub', 'pub', 'sub'");
}

TEST(Auth, JwtJwksFile) {
    Config c = parse("jwt_jwks_file /etc/starling/idp keys.json\njwt_algorithms RS256 ES256\n");
    EXPECT_TRUE(c.jwt.enabled());
    EXPECT_EQ(c.jwt.jwks_file, "/etc/starling/idp keys.json");  // a path: the rest of the line
    EXPECT_EQ(c.jwt.key_file, "");
    EXPECT_EQ(c.jwt.algorithms, (std::vector<std::string>{"RS256", "ES256"}));
    // With a shared secret for HS256 beside it.
    Config d = parse("jwt_secret_file /s\njwt_jwks_file /k.json\njwt_algorithms HS256 RS256\njwt_issuer me\n");
    EXPECT_EQ(d.jwt.secret_file, "/s");
    EXPECT_EQ(d.jwt.jwks_file, "/k.json");
    EXPECT_EQ(d.jwt.issuer, "me");
    EXPECT_FALSE(parse("").jwt.enabled());
    EXPECT_EQ(parse("").jwt.jwks_file, "");
}

TEST(Auth, JwtJwksFileErrors) {
    EXPECT_EQ(errorOf("jwt_jwks_file\n"), "t.conf:1: 'jwt_jwks_file' needs a value");
    EXPECT_EQ(errorOf("jwt_jwks_file /a.json\nlistener 1883\njwt_jwks_file /b.json\n"),
              "t.conf:3: 'jwt_jwks_file' is set twice (first at t.conf:1)");
    // One source of public keys.
    EXPECT_EQ(errorOf("jwt_key_file /k.pem\nmax_keepalive 60\njwt_jwks_file /k.json\n"),
              "t.conf:3: 'jwt_jwks_file' cannot be combined with 'jwt_key_file' (at t.conf:1): put that key in the "
              "key set, or use one of them");
    EXPECT_EQ(errorOf("jwt_jwks_file /k.json\njwt_secret_file /s\njwt_key_file /k.pem\n"),
              "t.conf:1: 'jwt_jwks_file' cannot be combined with 'jwt_key_file' (at t.conf:3): put that key in the "
              "key set, or use one of them");
    EXPECT_EQ(errorOf("jwt_jwks_file /k.json\njwt_algorithms HS256\n"),
              "t.conf:2: 'jwt_algorithms' lists HS256 but 'jwt_secret_file' is not set");
}

TEST(Tls, PerListenerAndDefaultListener) {
    auto c = parse(
        "listener 8883\ncertfile /c.pem\nkeyfile /k.pem\ncafile /ca.pem\nrequire_certificate true\n"
        "use_identity_as_username true\ntls_version tlsv1.3\nlistener 1883\n");
    ASSERT_EQ(c.listeners.size(), 2u);
    EXPECT_TRUE(c.listeners[0].tls.enabled());
    EXPECT_TRUE(c.listeners[0].tls.require_certificate);
    EXPECT_TRUE(c.listeners[0].tls.use_identity_as_username);
    EXPECT_EQ(c.listeners[0].tls.tls_version, "tlsv1.3");
    EXPECT_FALSE(c.listeners[1].tls.enabled());
    auto d = parse("port 8883\ncertfile /c.pem\nkeyfile /k.pem\n");
    ASSERT_EQ(d.listeners.size(), 1u);
    EXPECT_EQ(d.listeners[0].tls.keyfile, "/k.pem");
}

TEST(Tls, InconsistentSettingsAreRefused) {
    EXPECT_EQ(errorOf("listener 8883\ncertfile /c.pem\n"), "t.conf:1: 'certfile' needs a 'keyfile'");
    EXPECT_EQ(errorOf("listener 8884\ncertfile /c.pem\nkeyfile /k.pem\nrequire_certificate true\n"),
              "t.conf:1: 'require_certificate true' needs a 'cafile' or 'capath'");
    EXPECT_EQ(errorOf("listener 1883\nrequire_certificate true\n"),
              "t.conf:1: client certificate options need TLS ('certfile' and 'keyfile')");
    EXPECT_EQ(errorOf("listener 8883\ntls_version sslv3\n"),
              "t.conf:2: 'tls_version' must be tlsv1.2 or tlsv1.3, got 'sslv3'");
}

TEST(Persistence, DirectivesAndMosquittosSnapshotsIgnored) {
    auto c = parse(
        "persistence true\npersistence_location /var/lib/starling\npersistence_sync always\n"
        "persistence_sync_interval 50\nautosave_interval 1800\npersistence_file mosquitto.db\n");
    EXPECT_TRUE(c.persistence);
    EXPECT_EQ(c.persistence_location, "/var/lib/starling");
    EXPECT_EQ(c.persistence_sync, "always");
    EXPECT_EQ(c.persistence_sync_interval_ms, 50u);
    EXPECT_EQ(c.warnings.size(), 2u);
    EXPECT_EQ(errorOf("persistence_sync sometimes\n"),
              "t.conf:1: 'persistence_sync' must be none, interval or always, got 'sometimes'");
    EXPECT_FALSE(parse("").persistence);
}

// ---- HTTP (ours)

TEST(Http, ListenerWithPortAndOptionalAddress) {
    auto c = parse("listener 1883\nhttp_listener 8080 127.0.0.1\nhttp_auth_token /etc/starling/http token\n");
    ASSERT_TRUE(c.http_listener.has_value());
    EXPECT_EQ(c.http_listener->port, 8080);
    EXPECT_EQ(c.http_listener->address, "127.0.0.1");
    EXPECT_EQ(c.http_listener->source, "t.conf:2");
    EXPECT_EQ(c.http_auth_token_file, "/etc/starling/http token");  // a path: the rest of the line
    // Without an address, every address (as for `listener`); it opens no MQTT listener.
    auto d = parse("max_connections 5\nhttp_listener 0\n");
    EXPECT_EQ(d.http_listener->port, 0);
    EXPECT_EQ(d.http_listener->address, "");
    EXPECT_TRUE(d.listeners.empty());
    EXPECT_EQ(d.max_connections, 5);
    EXPECT_FALSE(d.http_listener->tls.enabled());
}

TEST(Http, TlsOptionsAfterTheHttpListenerAreItsOwn) {
    auto c = parse(
        "listener 8883\ncertfile /m.crt\nkeyfile /m.key\n"
        "http_listener 8443\ncertfile /h.crt\nkeyfile /h.key\ncafile /ca.crt\nrequire_certificate true\n"
        "tls_version tlsv1.3\n"
        "listener 1883\n");
    EXPECT_EQ(c.listeners[0].tls.certfile, "/m.crt");
    EXPECT_EQ(c.http_listener->tls.certfile, "/h.crt");
    EXPECT_EQ(c.http_listener->tls.keyfile, "/h.key");
    EXPECT_TRUE(c.http_listener->tls.require_certificate);
    EXPECT_EQ(c.http_listener->tls.tls_version, "tlsv1.3");
    EXPECT_FALSE(c.listeners[1].tls.any());  // a `listener` line ends the HTTP block
}

TEST(Http, ListenerOptionsInTheHttpBlockAreRefused) {
    EXPECT_EQ(errorOf("http_listener 8080\nmax_connections 5\n"),
              "t.conf:2: 'max_connections' is not an option of http_listener; put it before 'http_listener' or "
              "after a 'listener'");
    EXPECT_EQ(errorOf("http_listener 8080\npsk_hint x\n").rfind("t.conf:2: 'psk_hint' is not an option", 0), 0u);
    EXPECT_EQ(errorOf("http_listener 8080\ncertfile /h.crt\n"), "t.conf:1: 'certfile' needs a 'keyfile'");
    EXPECT_EQ(errorOf("http_listener 8080\ncafile /ca.crt\n"),
              "t.conf:1: TLS options of http_listener need 'certfile' and 'keyfile'");
}

TEST(Http, UsersWithRoles) {
    auto c = parse("password_file /p\nhttp_listener 8080\nhttp_user ops admin\nhttp_user viewer\n");
    EXPECT_EQ(c.http_users.at("ops"), "admin");
    EXPECT_EQ(c.http_users.at("viewer"), "read");
    EXPECT_EQ(errorOf("password_file /p\nhttp_listener 8080\nhttp_user ops root\n"),
              "t.conf:3: 'http_user' role must be admin or read, got 'root'");
    EXPECT_EQ(errorOf("password_file /p\nhttp_listener 8080\nhttp_user ops\nhttp_user ops admin\n"),
              "t.conf:4: 'http_user' 'ops' is given twice");
    EXPECT_EQ(errorOf("http_listener 8080\nhttp_user ops\n"),
              "t.conf:2: 'http_user' needs a 'password_file' to check passwords");
    EXPECT_EQ(errorOf("password_file /p\nhttp_user ops\n"), "t.conf:2: 'http_user' needs an 'http_listener'");
}

TEST(Http, ListenerErrors) {
    EXPECT_EQ(errorOf("http_listener\n"), "t.conf:1: 'http_listener' needs a port");
    EXPECT_EQ(errorOf("http_listener 8080 ::1 extra\n"),
              "t.conf:1: 'http_listener' takes a port and an optional address, got '8080 ::1 extra'");
    EXPECT_EQ(errorOf("http_listener 70000\n").rfind("t.conf:1: ", 0), 0u);
    EXPECT_EQ(errorOf("http_listener 8080 a..b\n"),
              "t.conf:1: 'http_listener' address 'a..b' is not an IP address or host name");
    EXPECT_EQ(errorOf("http_listener 8080\nhttp_listener 8081\n"),
              "t.conf:2: 'http_listener' is set twice (first at t.conf:1)");
    EXPECT_EQ(errorOf("http_listener 8080\nhttp_auth_token /a\nhttp_auth_token /b\n"),
              "t.conf:3: 'http_auth_token' is set twice (first at t.conf:2)");
}

TEST(Http, TokenNeedsAListener) {
    EXPECT_EQ(errorOf("max_keepalive 60\nhttp_auth_token /t\n"),
              "t.conf:2: 'http_auth_token' needs an 'http_listener'");
}

TEST(Http, PortSharedWithAnMqttListenerIsRefused) {
    EXPECT_EQ(errorOf("listener 1883\nhttp_listener 1883 127.0.0.1\n"),
              "t.conf:2: 'http_listener' on port 1883 overlaps the listener at t.conf:1");
    EXPECT_EQ(errorOf("listener 8080 127.0.0.1\nhttp_listener 8080\n"),
              "t.conf:2: 'http_listener' on port 8080 overlaps the listener at t.conf:1");
    // Other addresses, other ports, and port 0 (a free port each) are fine.
    EXPECT_NO_THROW(parse("listener 8080 127.0.0.1\nhttp_listener 8080 ::1\n"));
    EXPECT_NO_THROW(parse("listener 1883\nhttp_listener 8080\n"));
    EXPECT_NO_THROW(parse("listener 0\nhttp_listener 0\n"));
}

}  // namespace
}  // namespace starling::config
