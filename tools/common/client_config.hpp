#pragma once
// Command-line configuration shared by starling_pub, starling_sub and starling_rr: mosquitto's flags, with
// its error messages, parsed by hand so the texts match mosquitto_pub/sub/rr 2.0. Pure; any thread.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/client_options.hpp"
#include "client/owned_properties.hpp"

namespace starling::tools {

enum class ToolKind { kPub, kSub, kRr };

enum class PubMode { kNone, kMessage, kFile, kStdinLine, kStdinFile, kNull };

struct ClientConfig {
    ToolKind kind = ToolKind::kPub;
    std::string host;  // empty: localhost
    int port = -1;     // -1: 1883, or 8883 with TLS
    std::string bind_address;
    protocol::ProtocolVersion version = protocol::ProtocolVersion::kV311;
    std::string id;
    std::string id_prefix;
    bool clean_session = true;
    int keepalive = 60;
    std::optional<std::string> username;
    std::optional<std::string> password;
    int qos = 0;
    bool retain = false;
    bool debug = false;
    bool quiet = false;
    bool nodelay = false;
    int max_inflight = 20;
    long long session_expiry_interval = -1;  // -1: unset

    // pub / rr
    PubMode pub_mode = PubMode::kNone;
    std::string topic;
    std::string message;
    std::string file_input;
    int repeat_count = 1;
    double repeat_delay = 0;     // seconds
    std::string response_topic;  // rr -e

    // sub / rr
    std::vector<std::string> topics;
    std::vector<std::string> filter_outs;
    std::vector<std::string> unsub_topics;
    std::string format;
    bool have_format = false;
    bool verbose = false;
    bool eol = true;
    bool pretty = false;
    int msg_count = 0;
    bool exit_after_sub = false;
    bool no_retain = false;
    bool retain_as_published = false;
    bool retained_only = false;
    bool remove_retained = false;
    int timeout = 0;
    int random_filter = 10000;

    // will
    std::optional<std::string> will_topic;
    std::optional<std::string> will_payload;
    int will_qos = 0;
    bool will_retain = false;

    client::TlsOptions tls;

    client::OwnedProperties connect_props, publish_props, subscribe_props, unsubscribe_props, disconnect_props,
        will_props;
};

enum class ParseStatus { kOk, kError, kHelp, kVersion };

// Parses argv; on kError `error` holds the text to print on stderr (mosquitto's, newlines included).
ParseStatus parseClientConfig(ClientConfig& cfg, ToolKind kind, int argc, const char* const* argv, std::string& error);

// Connection options for the client library; `pid` makes -I ids and defaults.
client::ClientOptions toClientOptions(const ClientConfig& cfg, int pid);

}  // namespace starling::tools
