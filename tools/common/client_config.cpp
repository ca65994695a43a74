#include "tools/common/client_config.hpp"

#include <strings.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "protocol/topic.hpp"
#include "protocol/wire.hpp"
#include "tools/common/message_format.hpp"
#include "tools/common/property_args.hpp"

namespace starling::tools {
namespace {

constexpr size_t kMaxPayload = 268435455;

enum class TopicUse { kPublish, kSubscribe, kResponse };

bool addTopic(ClientConfig& cfg, TopicUse use, const std::string& topic, const char* arg, std::string& error) {
    if (!protocol::isValidUtf8(topic)) {
        error = std::string("Error: Malformed UTF-8 in ") + arg + " argument.\n\n";
        return false;
    }
    if (use == TopicUse::kPublish) {
        if (!protocol::isValidTopicName(topic)) {
            error = "Error: Invalid publish topic '" + topic + "', does it contain '+' or '#'?\n";
            return false;
        }
        cfg.topic = topic;
    } else if (use == TopicUse::kResponse) {
        if (!protocol::isValidTopicName(topic)) {
            error = "Error: Invalid response topic '" + topic + "', does it contain '+' or '#'?\n";
            return false;
        }
        cfg.response_topic = topic;
    } else {
        if (!protocol::isValidTopicFilter(topic)) {
            error = "Error: Invalid subscription topic '" + topic + "', are all '+' and '#' wildcards correct?\n";
            return false;
        }
        cfg.topics.push_back(topic);
    }
    return true;
}

bool parseUrl(ClientConfig& cfg, std::string url, std::string& error) {
    if (strncasecmp(url.c_str(), "mqtt://", 7) == 0) {
        url.erase(0, 7);
        cfg.port = 1883;
    } else if (strncasecmp(url.c_str(), "mqtts://", 8) == 0) {
        url.erase(0, 8);
        cfg.port = 8883;
        cfg.tls.enabled = true;
        cfg.tls.use_os_certs = true;
    } else {
        error = "Error: Unsupported URL scheme.\n\n";
        return false;
    }
    size_t slash = url.find('/');
    if (slash == std::string::npos) {
        error = "Error: Invalid URL for -L argument specified - topic missing.\n";
        return false;
    }
    std::string topic = url.substr(slash + 1);
    url.resize(slash);
    if (!addTopic(cfg, cfg.kind == ToolKind::kSub ? TopicUse::kSubscribe : TopicUse::kPublish, topic, "-L topic",
                  error)) {
        return false;
    }
    size_t at = url.find('@');
    if (at != std::string::npos) {
        std::string cred = url.substr(0, at);
        url.erase(0, at + 1);
        size_t colon = cred.find(':');
        if (colon != std::string::npos) {
            cfg.password = cred.substr(colon + 1);
            cred.resize(colon);
        }
        cfg.username = cred;
    }
    size_t colon = url.find(':');
    if (colon != std::string::npos) {
        cfg.port = std::atoi(url.c_str() + colon + 1);
        url.resize(colon);
    }
    cfg.host = url;
    return true;
}

}  // namespace

ParseStatus parseClientConfig(ClientConfig& cfg, ToolKind kind, int argc, const char* const* argv, std::string& error) {
    cfg = ClientConfig{};
    cfg.kind = kind;
    const bool pub = kind == ToolKind::kPub, sub = kind == ToolKind::kSub, rr = kind == ToolKind::kRr;
    if (rr) {
        cfg.version = protocol::ProtocolVersion::kV5;
        cfg.msg_count = 1;
    }
    auto fail = [&error](std::string msg) {
        error = std::move(msg);
        return ParseStatus::kError;
    };

    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i < argc - 1;
        const std::string next = has_value ? argv[i + 1] : "";
        auto missing = [&](const char* what) {
            return fail("Error: " + a + " argument given but no " + what + " specified.\n\n");
        };
        auto unknown = [&]() { return fail("Error: Unknown option '" + a + "'.\n"); };
        auto pubMode = [&](PubMode m) -> bool {
            if (cfg.pub_mode != PubMode::kNone) {
                error = "Error: Only one type of message can be sent at once.\n\n";
                return false;
            }
            cfg.pub_mode = m;
            return true;
        };

        if (a == "-A") {
            if (!has_value) return missing("address");
            cfg.bind_address = next, ++i;
        } else if (a == "--cafile") {
            if (!has_value) return missing("file");
            cfg.tls.cafile = next, cfg.tls.enabled = true, ++i;
        } else if (a == "--capath") {
            if (!has_value) return missing("directory");
            cfg.tls.capath = next, cfg.tls.enabled = true, ++i;
        } else if (a == "--cert") {
            if (!has_value) return missing("file");
            cfg.tls.certfile = next, ++i;
        } else if (a == "--key") {
            if (!has_value) return missing("file");
            cfg.tls.keyfile = next, ++i;
        } else if (a == "--ciphers") {
            if (!has_value) return missing("ciphers");
            ++i;
        } else if (a == "--insecure") {
            cfg.tls.insecure = true;
        } else if (a == "--tls-version") {
            if (!has_value) return missing("version");
            cfg.tls.version = next, ++i;
        } else if (a == "--tls-use-os-certs") {
            cfg.tls.use_os_certs = true, cfg.tls.enabled = true;
        } else if (a == "-C") {
            if (!sub) return unknown();
            if (!has_value) return missing("count");
            cfg.msg_count = std::atoi(next.c_str()), ++i;
            if (cfg.msg_count < 1)
                return fail("Error: Invalid message count \"" + std::to_string(cfg.msg_count) + "\".\n\n");
        } else if (a == "-c" || a == "--disable-clean-session") {
            cfg.clean_session = false;
        } else if (a == "-d" || a == "--debug") {
            cfg.debug = true;
        } else if (a == "-D" || a == "--property") {
            ++i;
            if (!parsePropertyArg(cfg, argc, argv, i, error)) return ParseStatus::kError;
            cfg.version = protocol::ProtocolVersion::kV5;
        } else if (a == "-e") {
            if (!rr) return unknown();
            if (!has_value) return missing("response topic");
            if (!addTopic(cfg, TopicUse::kResponse, next, "-e", error)) return ParseStatus::kError;
            ++i;
        } else if (a == "-E") {
            if (!sub) return unknown();
            cfg.exit_after_sub = true;
        } else if (a == "-f" || a == "--file") {
            if (sub) return unknown();
            if (!pubMode(PubMode::kFile)) return ParseStatus::kError;
            if (!has_value) return missing("file");
            cfg.file_input = next, ++i;
        } else if (a == "-F") {
            if (pub) return unknown();
            if (!has_value) return missing("format");
            std::string ferr;
            if (!checkFormat(next, ferr)) return fail(ferr + "\n");
            cfg.format = next, cfg.have_format = true, ++i;
        } else if (a == "--help") {
            return ParseStatus::kHelp;
        } else if (a == "-h" || a == "--host") {
            if (!has_value) return missing("host");
            cfg.host = next, ++i;
        } else if (a == "-i" || a == "--id") {
            if (!cfg.id_prefix.empty()) return fail("Error: -i and -I argument cannot be used together.\n\n");
            if (!has_value) return missing("id");
            cfg.id = next, ++i;
        } else if (a == "-I" || a == "--id-prefix") {
            if (!cfg.id.empty()) return fail("Error: -i and -I argument cannot be used together.\n\n");
            if (!has_value) return missing("id prefix");
            cfg.id_prefix = next, ++i;
        } else if (a == "-k" || a == "--keepalive") {
            if (!has_value) return missing("keepalive");
            cfg.keepalive = std::atoi(next.c_str()), ++i;
            if (cfg.keepalive < 5 || cfg.keepalive > 65535) {
                return fail("Error: Invalid keepalive given, it must be between 5 and 65535 inclusive.\n\n");
            }
        } else if (a == "-L" || a == "--url") {
            if (!has_value) return missing("URL");
            if (!parseUrl(cfg, next, error)) return ParseStatus::kError;
            ++i;
        } else if (a == "-l" || a == "--stdin-line") {
            if (!pub) return unknown();
            if (!pubMode(PubMode::kStdinLine)) return ParseStatus::kError;
        } else if (a == "-m" || a == "--message") {
            if (sub) return unknown();
            if (!pubMode(PubMode::kMessage)) return ParseStatus::kError;
            if (!has_value) return missing("message");
            if (next.size() > kMaxPayload) return fail("Error: Message length must be less than 268435455 bytes.\n\n");
            cfg.message = next, ++i;
        } else if (a == "-M") {
            if (!has_value) return fail("Error: -M argument given but max_inflight not specified.\n\n");
            int n = std::atoi(next.c_str());
            if (n < 1) return fail("Error: Maximum inflight messages must be greater than 0.\n\n");
            cfg.max_inflight = n, ++i;
        } else if (a == "--nodelay") {
            cfg.nodelay = true;
        } else if (a == "-n" || a == "--null-message") {
            if (sub) return unknown();
            if (!pubMode(PubMode::kNull)) return ParseStatus::kError;
        } else if (a == "-N") {
            if (pub) return unknown();
            cfg.eol = false;
        } else if (a == "-p" || a == "--port") {
            if (!has_value) return missing("port");
            cfg.port = std::atoi(next.c_str()), ++i;
            if (cfg.port < 0 || cfg.port > 65535)
                return fail("Error: Invalid port given: " + std::to_string(cfg.port) + "\n");
        } else if (a == "--pretty") {
            if (pub) return unknown();
            cfg.pretty = true;
        } else if (a == "-P" || a == "--pw") {
            if (!has_value) return missing("password");
            cfg.password = next, ++i;
        } else if (a == "-q" || a == "--qos") {
            if (!has_value) return missing("QoS");
            cfg.qos = std::atoi(next.c_str()), ++i;
            if (cfg.qos < 0 || cfg.qos > 2) return fail("Error: Invalid QoS given: " + std::to_string(cfg.qos) + "\n");
        } else if (a == "--quiet") {
            cfg.quiet = true;
        } else if (a == "-r" || a == "--retain") {
            if (!pub) return unknown();
            cfg.retain = true;
        } else if (a == "-R") {
            if (pub) return unknown();
            cfg.no_retain = true;
        } else if (a == "--random-filter") {
            if (!sub) return unknown();
            if (!has_value) return missing("chance");
            cfg.random_filter = static_cast<int>(10.0 * std::atof(next.c_str())), ++i;
            if (cfg.random_filter > 10000 || cfg.random_filter < 1) {
                return fail("Error: --random-filter chance must be between 0.1-100.0\n\n");
            }
        } else if (a == "--remove-retained") {
            if (!sub) return unknown();
            cfg.remove_retained = true;
        } else if (a == "--repeat") {
            if (!pub) return unknown();
            if (!has_value) return missing("count");
            cfg.repeat_count = std::atoi(next.c_str()), ++i;
            if (cfg.repeat_count < 1) return fail("Error: --repeat argument must be >0.\n\n");
        } else if (a == "--repeat-delay") {
            if (!pub) return unknown();
            if (!has_value) return missing("time");
            cfg.repeat_delay = std::atof(next.c_str()), ++i;
            if (cfg.repeat_delay < 0) return fail("Error: --repeat-delay argument must be >=0.0.\n\n");
        } else if (a == "--retain-as-published") {
            if (pub) return unknown();
            cfg.retain_as_published = true;
        } else if (a == "--retained-only") {
            if (!sub) return unknown();
            cfg.retained_only = true;
        } else if (a == "-s" || a == "--stdin-file") {
            if (sub) return unknown();
            if (!pubMode(PubMode::kStdinFile)) return ParseStatus::kError;
        } else if (a == "-t" || a == "--topic") {
            if (!has_value) return missing("topic");
            if (!addTopic(cfg, sub ? TopicUse::kSubscribe : TopicUse::kPublish, next, "-t", error)) {
                return ParseStatus::kError;
            }
            ++i;
        } else if (a == "-T" || a == "--filter-out") {
            if (!sub) return unknown();
            if (!has_value) return missing("topic filter");
            if (!protocol::isValidUtf8(next)) return fail("Error: Malformed UTF-8 in -T argument.\n\n");
            if (!protocol::isValidTopicFilter(next)) {
                return fail("Error: Invalid filter topic '" + next + "', are all '+' and '#' wildcards correct?\n");
            }
            cfg.filter_outs.push_back(next), ++i;
        } else if (a == "-U" || a == "--unsubscribe") {
            if (!sub) return unknown();
            if (!has_value) return missing("unsubscribe topic");
            if (!protocol::isValidUtf8(next)) return fail("Error: Malformed UTF-8 in -U argument.\n\n");
            if (!protocol::isValidTopicFilter(next)) {
                return fail("Error: Invalid unsubscribe topic '" + next +
                            "', are all '+' and '#' wildcards correct?\n");
            }
            cfg.unsub_topics.push_back(next), ++i;
        } else if (a == "-u" || a == "--username") {
            if (!has_value) return missing("username");
            cfg.username = next, ++i;
        } else if (a == "-V" || a == "--protocol-version") {
            if (!has_value) return fail("Error: --protocol-version argument given but no version specified.\n\n");
            if (next == "mqttv31" || next == "31") {
                cfg.version = protocol::ProtocolVersion::kV31;
            } else if (next == "mqttv311" || next == "311") {
                cfg.version = protocol::ProtocolVersion::kV311;
            } else if (next == "mqttv5" || next == "5") {
                cfg.version = protocol::ProtocolVersion::kV5;
            } else {
                return fail("Error: Invalid protocol version argument given.\n\n");
            }
            ++i;
        } else if (a == "-v" || a == "--verbose") {
            if (pub) return unknown();
            cfg.verbose = true;
        } else if (a == "--version") {
            return ParseStatus::kVersion;
        } else if (a == "-W") {
            if (pub) return unknown();
            if (!has_value) return missing("timeout");
            int t = std::atoi(next.c_str());
            if (t < 1) return fail("Error: Invalid timeout \"" + std::to_string(t) + "\".\n\n");
            cfg.timeout = t, ++i;
        } else if (a == "--will-payload") {
            if (!has_value) return missing("will payload");
            cfg.will_payload = next, ++i;
        } else if (a == "--will-qos") {
            if (!has_value) return missing("will QoS");
            cfg.will_qos = std::atoi(next.c_str()), ++i;
            if (cfg.will_qos < 0 || cfg.will_qos > 2)
                return fail("Error: Invalid will QoS " + std::to_string(cfg.will_qos) + ".\n\n");
        } else if (a == "--will-retain") {
            cfg.will_retain = true;
        } else if (a == "--will-topic") {
            if (!has_value) return missing("will topic");
            if (!protocol::isValidUtf8(next)) return fail("Error: Malformed UTF-8 in --will-topic argument.\n\n");
            if (!protocol::isValidTopicName(next)) {
                return fail("Error: Invalid will topic '" + next + "', does it contain '+' or '#'?\n");
            }
            cfg.will_topic = next, ++i;
        } else if (a == "-x") {
            if (!has_value) return missing("session expiry interval");
            if (next == "\xe2\x88\x9e") {
                cfg.session_expiry_interval = 4294967295LL;
            } else {
                char* end = nullptr;
                long long v = std::strtoll(next.c_str(), &end, 0);
                if (end == next.c_str() || *end != '\0')
                    return fail("Error: session-expiry-interval not a number.\n\n");
                if (v > 4294967295LL || v < -1) return fail("Error: session-expiry-interval out of range.\n\n");
                cfg.session_expiry_interval = v == -1 ? 4294967295LL : v;
            }
            ++i;
        } else {
            return unknown();
        }
    }

    if (cfg.will_payload && !cfg.will_topic) return fail("Error: Will payload given, but no will topic given.\n");
    if (cfg.will_retain && !cfg.will_topic) return fail("Error: Will retain given, but no will topic given.\n");
    if (!cfg.tls.certfile.empty() != !cfg.tls.keyfile.empty()) {
        return fail("Error: Both certfile and keyfile must be provided if one of them is set.\n");
    }
    if (cfg.version == protocol::ProtocolVersion::kV5) {
        if (!cfg.clean_session && cfg.session_expiry_interval == -1) cfg.session_expiry_interval = 4294967295LL;
        if (cfg.session_expiry_interval > 0) {
            if (cfg.session_expiry_interval == 4294967295LL && (!cfg.id_prefix.empty() || cfg.id.empty())) {
                return fail(
                    "Error: You must provide a client id if you are using an infinite session expiry interval.\n");
            }
            cfg.connect_props.mutableView().session_expiry_interval =
                static_cast<uint32_t>(cfg.session_expiry_interval);
        }
    } else if (!cfg.clean_session && (!cfg.id_prefix.empty() || cfg.id.empty())) {
        return fail("Error: You must provide a client id if you are using the -c option.\n");
    }
    if (sub && cfg.topics.empty() && cfg.unsub_topics.empty()) {
        return fail("Error: You must specify a topic to subscribe to.\n");
    }
    return ParseStatus::kOk;
}

client::ClientOptions toClientOptions(const ClientConfig& cfg, int pid) {
    client::ClientOptions o;
    o.host = cfg.host.empty() ? "localhost" : cfg.host;
    o.tls = cfg.tls;
    o.port = static_cast<uint16_t>(cfg.port >= 0 ? cfg.port : (cfg.tls.enabled ? 8883 : 1883));
    o.version = cfg.version;
    o.client_id = cfg.id_prefix.empty() ? cfg.id : cfg.id_prefix + std::to_string(pid);
    if (o.client_id.empty() && cfg.version == protocol::ProtocolVersion::kV31) {
        // 3.1 servers refuse an empty id; libmosquitto makes one up the same way.
        o.client_id = "mosq-" + std::to_string(pid);
    }
    o.clean_start = cfg.clean_session;
    o.keep_alive = static_cast<uint16_t>(cfg.keepalive);
    o.username = cfg.username;
    o.password = cfg.password;
    if (cfg.password && !cfg.username && cfg.version != protocol::ProtocolVersion::kV5) o.username = "";
    if (cfg.will_topic) {
        client::WillOptions w;
        w.topic = *cfg.will_topic;
        w.payload = cfg.will_payload.value_or("");
        w.qos = static_cast<protocol::QoS>(cfg.will_qos);
        w.retain = cfg.will_retain;
        w.properties = cfg.will_props;
        o.will = std::move(w);
    }
    o.connect_properties = cfg.connect_props;
    o.tcp_nodelay = cfg.nodelay;
    o.max_inflight = static_cast<uint16_t>(cfg.max_inflight);
    if (cfg.version == protocol::ProtocolVersion::kV5 && cfg.msg_count > 0 && cfg.msg_count < 20) {
        // Otherwise more than -C messages may arrive before we quit (as mosquitto_sub does).
        o.connect_properties.mutableView().receive_maximum = static_cast<uint16_t>(cfg.msg_count);
    }
    o.debug = cfg.debug;
    return o;
}

}  // namespace starling::tools
