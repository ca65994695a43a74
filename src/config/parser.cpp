#include "config/parser.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <unordered_map>

#include "config/values.hpp"

namespace starling::config {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kBlank = " \t\r\f\v";

std::string_view trim(std::string_view s) {
    auto b = s.find_first_not_of(kBlank);
    if (b == std::string_view::npos) return {};
    auto e = s.find_last_not_of(kBlank);
    return s.substr(b, e - b + 1);
}

std::string inQuotes(std::string_view s) {
    return "'" + std::string(s) + "'";
}

// Directives of Mosquitto 2.0 that later issues implement: refused by name rather than called unknown,
// so that a Mosquitto user learns their file is right and Starling is not there yet.
// clang-format off
const std::set<std::string_view, std::less<>> kNotSupportedYet = {
    // authentication, access control, plugins
    "auth_plugin", "plugin", "global_plugin",
    "auth_plugin_deny_special_chars", "clientid_prefixes", "use_username_as_clientid",
    // TLS
    "dhparamfile", "tls_engine", "tls_engine_kpass_sha1", "tls_keyform",
    // persistence
    "retained_persistence", "persistent_client_expiration",
    // bridges (with the bridge_* and remote_* prefixes below)
    "connection", "address", "addresses", "topic", "cleansession", "local_cleansession", "start_type",
    "try_private", "notifications", "notifications_local_only", "notification_topic", "keepalive_interval",
    "idle_timeout", "restart_timeout", "round_robin", "threshold", "local_clientid", "local_username",
    "local_password", "clientid", "username", "password",
    // websockets and HTTP
    "http_dir", "websockets_log_level", "websockets_headers_size",
    // listener options
    "socket_domain", "bind_interface", "mount_point", "max_qos", "maximum_qos",
    // broker behaviour
    "check_retain_source", "set_tcp_nodelay", "upgrade_outgoing_qos", "memory_limit", "max_inflight_bytes",
    "allow_duplicate_messages", "connection_messages", "log_facility",
};
// clang-format on
constexpr std::string_view kNotSupportedYetPrefixes[] = {"bridge_", "remote_", "auth_opt_", "plugin_opt_"};

bool notSupportedYet(std::string_view directive) {
    if (kNotSupportedYet.count(directive)) return true;
    for (auto prefix : kNotSupportedYetPrefixes)
        if (directive.size() > prefix.size() && directive.substr(0, prefix.size()) == prefix) return true;
    return false;
}

// Mosquitto's include_dir order: letters compare without case first, then upper case before lower case of
// the same letter, position by position ("00.conf 01.conf A.conf a.conf B.conf b.conf").
bool mosquittoFileOrder(const std::string& a, const std::string& b) {
    size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
        int ua = std::toupper(static_cast<unsigned char>(a[i]));
        int ub = std::toupper(static_cast<unsigned char>(b[i]));
        if (ua != ub) return ua < ub;
        if (a[i] != b[i]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
    }
    return a.size() < b.size();
}

std::string describeListener(const Listener& l) {
    return "port " + std::to_string(l.port) + (l.address.empty() ? " (all addresses)" : " on " + l.address);
}

}  // namespace

bool readTextFile(const std::string& path, std::string& out, std::string& error) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        error = "is a directory";
        return false;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = std::strerror(errno);
        return false;
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) {
        error = std::strerror(errno);
        return false;
    }
    out = buf.str();
    return true;
}

void Parser::parseFile(std::string_view text, const std::string& name, bool main) {
    Scope scope;
    size_t pos = 0;
    int number = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        ++number;
        if (number == 1 && raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3);  // a UTF-8 BOM
        std::string_view content = trim(raw);
        if (content.empty() || content[0] == '#') continue;

        Line line;
        line.where = name + ":" + std::to_string(number);
        line.main = main;
        auto end = content.find_first_of(kBlank);
        line.directive = content.substr(0, end);
        line.rest = end == std::string_view::npos ? std::string_view{} : trim(content.substr(end));
        // Mosquitto reads the values it needs and ignores what follows, so `listener 1883 # mqtt` works
        // there; we accept such a trailing comment but refuse any other extra value.
        std::string_view r = line.rest;
        while (!r.empty()) {
            auto e = r.find_first_of(kBlank);
            std::string_view token = r.substr(0, e);
            if (token[0] == '#') break;
            line.args.push_back(token);
            r = e == std::string_view::npos ? std::string_view{} : trim(r.substr(e));
        }
        apply(line, scope);
    }
}

void Parser::apply(const Line& line, Scope& scope) {
    static const std::unordered_map<std::string_view, Handler> kHandlers = {
        {"listener", &Parser::listener},
        {"port", &Parser::port},
        {"bind_address", &Parser::bindAddress},
        {"protocol", &Parser::protocol},
        {"max_connections", &Parser::maxConnections},
        {"worker_threads", &Parser::workerThreads},
        {"allow_anonymous", &Parser::allowAnonymous},
        {"password_file", &Parser::passwordFile},
        {"acl_file", &Parser::aclFile},
        {"jwt_key_file", &Parser::jwtKeyFile},
        {"jwt_jwks_file", &Parser::jwtJwksFile},
        {"jwt_secret_file", &Parser::jwtSecretFile},
        {"jwt_algorithms", &Parser::jwtAlgorithms},
        {"jwt_issuer", &Parser::jwtIssuer},
        {"jwt_audience", &Parser::jwtAudience},
        {"jwt_username_claim", &Parser::jwtUsernameClaim},
        {"jwt_publish_claim", &Parser::jwtPublishClaim},
        {"jwt_subscribe_claim", &Parser::jwtSubscribeClaim},
        {"http_listener", &Parser::httpListener},
        {"http_auth_token", &Parser::httpAuthToken},
        {"http_user", &Parser::httpUser},
        {"max_keepalive", &Parser::maxKeepalive},
        {"message_size_limit", &Parser::messageSizeLimit},
        {"max_packet_size", &Parser::maxPacketSize},
        {"max_inflight_messages", &Parser::maxInflightMessages},
        {"max_topic_alias", &Parser::maxTopicAlias},
        {"shared_subscription_strategy", &Parser::sharedSubscriptionStrategy},
        {"max_queued_messages", &Parser::maxQueuedMessages},
        {"max_queued_bytes", &Parser::maxQueuedBytes},
        {"queue_qos0_messages", &Parser::queueQos0Messages},
        {"retain_available", &Parser::retainAvailable},
        {"allow_zero_length_clientid", &Parser::allowZeroLengthClientid},
        {"auto_id_prefix", &Parser::autoIdPrefix},
        {"sys_interval", &Parser::sysInterval},
        {"output_limit", &Parser::outputLimit},
        {"per_listener_settings", &Parser::perListenerSettings},
        {"pid_file", &Parser::pidFile},
        {"user", &Parser::user},
        {"retry_interval", &Parser::retryInterval},
        {"include_dir", &Parser::includeDir},
        {"log_dest", &Parser::logDest},
        {"log_type", &Parser::logType},
        {"log_timestamp", &Parser::logTimestamp},
        {"log_timestamp_format", &Parser::logTimestampFormat},
        {"certfile", &Parser::tlsOption},
        {"keyfile", &Parser::tlsOption},
        {"cafile", &Parser::tlsOption},
        {"capath", &Parser::tlsOption},
        {"crlfile", &Parser::tlsOption},
        {"require_certificate", &Parser::tlsOption},
        {"use_identity_as_username", &Parser::tlsOption},
        {"use_subject_as_username", &Parser::tlsOption},
        {"tls_version", &Parser::tlsOption},
        {"ciphers", &Parser::tlsOption},
        {"ciphers_tls1.3", &Parser::tlsOption},
        {"psk_hint", &Parser::tlsOption},
        {"psk_file", &Parser::pskFile},
        {"persistence", &Parser::persistence},
        {"persistence_location", &Parser::persistence},
        {"persistence_file", &Parser::persistence},
        {"persistence_sync", &Parser::persistence},
        {"persistence_sync_interval", &Parser::persistence},
        {"persistence_queue_memory", &Parser::persistence},
        {"persistence_retained_memory", &Parser::persistence},
        {"autosave_interval", &Parser::persistence},
        {"autosave_on_changes", &Parser::persistence},
    };
    auto it = kHandlers.find(line.directive);
    if (it == kHandlers.end()) {
        if (notSupportedYet(line.directive)) fail(line, inQuotes(line.directive) + " is not supported yet");
        fail(line, "unknown directive " + inQuotes(line.directive));
    }
    try {
        (this->*(it->second))(line, scope);
    } catch (const ValueError& e) {
        fail(line, e.what());
    }
}

void Parser::fail(const Line& line, const std::string& message) {
    throw ConfigError(line.where + ": " + message);
}

void Parser::warn(const Line& line, const std::string& message) {
    cfg_.warnings.push_back(line.where + ": " + message);
}

std::string_view Parser::single(const Line& line) {
    if (line.args.empty()) fail(line, inQuotes(line.directive) + " needs a value");
    if (line.args.size() > 1)
        fail(line, inQuotes(line.directive) + " takes one value, got " + std::to_string(line.args.size()) + ": " +
                       inQuotes(line.rest));
    return line.args[0];
}

std::string Parser::text(const Line& line) {
    if (line.rest.empty()) fail(line, inQuotes(line.directive) + " needs a value");
    if (!isValidUtf8(line.rest)) fail(line, inQuotes(line.directive) + " value is not valid UTF-8");
    if (line.rest.size() > 65535) fail(line, inQuotes(line.directive) + " value is longer than 65535 bytes");
    return std::string(line.rest);
}

// Mosquitto refuses a second value for its string options ("Duplicate pid_file value"); so do we, and say
// where the first one was.
std::string Parser::onceText(const Line& line, std::string_view what) {
    once(line, what);
    return text(line);
}

void Parser::once(const Line& line, std::string_view what) {
    auto [it, inserted] = first_set_.try_emplace(std::string(what), line.where);
    if (!inserted) fail(line, inQuotes(what) + " is set twice (first at " + it->second + ")");
}

// ---- Listeners

void Parser::listener(const Line& line, Scope& scope) {
    if (line.args.empty()) fail(line, "'listener' needs a port");
    if (line.args.size() > 2) fail(line, "'listener' takes a port and an optional address, got " + inQuotes(line.rest));
    Listener l;
    // Port 0 asks the system for a free port (Mosquitto reserves 0 for unix sockets).
    l.port = static_cast<uint16_t>(parseUnsigned(line.args[0], 65535, "listener port"));
    if (line.args.size() == 2) {
        std::string_view addr = line.args[1];
        if (addr.find('/') != std::string_view::npos)
            fail(line, "unix socket listeners (" + inQuotes(addr) + ") are not supported yet");
        if (!isValidHost(addr))
            fail(line, "'listener' address " + inQuotes(addr) + " is not an IP address or host name");
        l.address = std::string(addr);
    }
    l.source = line.where;
    cfg_.listeners.push_back(std::move(l));
    scope.listener = cfg_.listeners.size() - 1;
    scope.http = false;
}

// Mosquitto's per-listener TLS directives; before any `listener` they belong to the default listener.
void Parser::tlsOption(const Line& line, Scope& scope) {
    const std::string_view d = line.directive;
    if (scope.http && (d == "use_identity_as_username" || d == "use_subject_as_username" || d == "psk_hint"))
        notInHttp(line, scope);
    TlsSettings& t = scope.http       ? cfg_.http_listener->tls
                     : scope.listener ? cfg_.listeners[*scope.listener].tls
                                      : default_tls_;
    if (!scope.http && !scope.listener && default_tls_where_.empty()) default_tls_where_ = line.where;
    auto flag = [&](bool& out) { out = parseBool(single(line), d); };
    if (d == "require_certificate") return flag(t.require_certificate);
    if (d == "use_identity_as_username") return flag(t.use_identity_as_username);
    if (d == "use_subject_as_username") return flag(t.use_subject_as_username);
    if (d == "tls_version") {
        std::string v(single(line));
        if (v != "tlsv1.2" && v != "tlsv1.3")
            fail(line, "'tls_version' must be tlsv1.2 or tlsv1.3, got " + inQuotes(v));
        t.tls_version = v;
        return;
    }
    std::string value = text(line);
    if (d == "certfile") t.certfile = value;
    if (d == "keyfile") t.keyfile = value;
    if (d == "cafile") t.cafile = value;
    if (d == "capath") t.capath = value;
    if (d == "crlfile") t.crlfile = value;
    if (d == "ciphers") t.ciphers = value;
    if (d == "ciphers_tls1.3") t.ciphers_tls13 = value;
    if (d == "psk_hint") t.psk_hint = value;
}

// Mosquitto's persistence directives and ours. Mosquitto snapshots memory to persistence_file every
// autosave_interval; Starling stores every change as it happens, so those two are accepted and ignored.
void Parser::persistence(const Line& line, Scope&) {
    const std::string_view d = line.directive;
    if (d == "persistence") {
        cfg_.persistence = parseBool(single(line), d);
    } else if (d == "persistence_location") {
        cfg_.persistence_location = text(line);
    } else if (d == "persistence_sync") {
        std::string v(single(line));
        if (v != "none" && v != "interval" && v != "always")
            fail(line, "'persistence_sync' must be none, interval or always, got " + inQuotes(v));
        cfg_.persistence_sync = v;
    } else if (d == "persistence_sync_interval") {
        cfg_.persistence_sync_interval_ms =
            static_cast<uint32_t>(parseUnsigned(single(line), 3'600'000, "persistence_sync_interval"));
        if (cfg_.persistence_sync_interval_ms == 0) fail(line, "'persistence_sync_interval' must be at least 1 ms");
    } else if (d == "persistence_queue_memory") {
        cfg_.persistence_queue_memory = parseByteSize(single(line), d);
    } else if (d == "persistence_retained_memory") {
        cfg_.persistence_retained_memory = parseByteSize(single(line), d);
    } else {
        warn(line, inQuotes(d) + " is ignored: Starling stores every change as it happens (see persistence_sync)");
    }
}

void Parser::pskFile(const Line& line, Scope&) {
    psk_file_ = onceText(line, "psk_file");
}

void Parser::port(const Line& line, Scope&) {
    auto value = static_cast<uint16_t>(parseUnsigned(single(line), 65535, "port"));
    warn(line, "'port' is deprecated, use 'listener' instead");
    if (legacy_port_) warn(line, "the default listener's port is set twice, the last one is used");
    if (legacy_where_.empty()) legacy_where_ = line.where;
    legacy_port_ = value;
}

void Parser::bindAddress(const Line& line, Scope&) {
    std::string_view addr = single(line);
    if (!isValidHost(addr)) fail(line, "'bind_address' " + inQuotes(addr) + " is not an IP address or host name");
    auto [it, inserted] = first_set_.try_emplace("bind_address", line.where);
    if (!inserted) fail(line, "'bind_address' is set twice (first at " + it->second + ")");
    warn(line, "'bind_address' is deprecated, use 'listener PORT ADDRESS' instead");
    if (legacy_where_.empty()) legacy_where_ = line.where;
    legacy_address_ = std::string(addr);
}

void Parser::notInHttp(const Line& line, const Scope& scope) {
    if (scope.http)
        fail(line, inQuotes(line.directive) +
                       " is not an option of http_listener; put it before 'http_listener' or after a 'listener'");
}

void Parser::protocol(const Line& line, Scope& scope) {
    notInHttp(line, scope);
    std::string_view value = single(line);
    if (value != "mqtt" && value != "websockets")
        fail(line, "'protocol' must be mqtt or websockets, got " + inQuotes(value));
    // Before any `listener` it is the default listener's protocol, as in Mosquitto; mqtt is the default.
    if (scope.listener) cfg_.listeners[*scope.listener].protocol = std::string(value);
}

void Parser::maxConnections(const Line& line, Scope& scope) {
    notInHttp(line, scope);
    auto value = static_cast<int>(parseInteger(single(line), -1, std::numeric_limits<int>::max(), "max_connections"));
    // Inside a listener block it limits that listener (Mosquitto's meaning); before any, all connections.
    if (scope.listener) {
        cfg_.listeners[*scope.listener].max_connections = value;
    } else {
        cfg_.max_connections = value;
    }
}

// ---- General

void Parser::workerThreads(const Line& line, Scope&) {
    cfg_.worker_threads = static_cast<unsigned>(parseUnsigned(single(line), 256, "worker_threads"));
}

void Parser::allowAnonymous(const Line& line, Scope& scope) {
    bool value = parseBool(single(line), "allow_anonymous");
    if (cfg_.per_listener_settings) notInHttp(line, scope);
    if (cfg_.per_listener_settings && scope.listener) {
        cfg_.listeners[*scope.listener].allow_anonymous = value;
    } else {
        cfg_.allow_anonymous = value;
    }
}

// ---- Authentication and authorisation

// Mosquitto refuses a second password_file/acl_file ("Duplicate ... value"); with per_listener_settings false
// they are global wherever they appear, also inside a listener block.
// With per_listener_settings, inside a listener block: that listener's own value; otherwise the global one.
void Parser::authFile(const Line& line, Scope& scope, std::optional<std::string> Listener::*own,
                      std::string Config::*global) {
    if (cfg_.per_listener_settings) notInHttp(line, scope);
    if (cfg_.per_listener_settings && scope.listener) {
        auto& l = cfg_.listeners[*scope.listener];
        if (l.*own) fail(line, inQuotes(line.directive) + " is set twice for the listener at " + l.source);
        l.*own = text(line);
        return;
    }
    cfg_.*global = onceText(line, line.directive);
}

void Parser::passwordFile(const Line& line, Scope& scope) {
    authFile(line, scope, &Listener::password_file, &Config::password_file);
}

void Parser::aclFile(const Line& line, Scope& scope) {
    authFile(line, scope, &Listener::acl_file, &Config::acl_file);
}

// The jwt_* directives (ours) are global like password_file, and each may be given once.
void Parser::jwtKeyFile(const Line& line, Scope&) {
    cfg_.jwt.key_file = onceText(line, "jwt_key_file");
}

void Parser::jwtJwksFile(const Line& line, Scope&) {
    cfg_.jwt.jwks_file = onceText(line, "jwt_jwks_file");
}

void Parser::jwtSecretFile(const Line& line, Scope&) {
    cfg_.jwt.secret_file = onceText(line, "jwt_secret_file");
}

void Parser::jwtAlgorithms(const Line& line, Scope&) {
    if (line.args.empty()) fail(line, "'jwt_algorithms' needs one or more of HS256, RS256, ES256");
    once(line, "jwt_algorithms");
    std::vector<std::string> algs;
    for (std::string_view a : line.args) {
        if (a != "HS256" && a != "RS256" && a != "ES256")
            fail(line, "'jwt_algorithms' takes HS256, RS256 and ES256, got " + inQuotes(a));
        if (std::find(algs.begin(), algs.end(), a) == algs.end()) algs.emplace_back(a);
    }
    cfg_.jwt.algorithms = std::move(algs);
}

void Parser::jwtIssuer(const Line& line, Scope&) {
    cfg_.jwt.issuer = onceText(line, "jwt_issuer");
}

void Parser::jwtAudience(const Line& line, Scope&) {
    cfg_.jwt.audience = onceText(line, "jwt_audience");
}

void Parser::jwtUsernameClaim(const Line& line, Scope&) {
    once(line, "jwt_username_claim");
    cfg_.jwt.username_claim = std::string(single(line));
}

void Parser::jwtPublishClaim(const Line& line, Scope&) {
    once(line, "jwt_publish_claim");
    cfg_.jwt.publish_claim = std::string(single(line));
}

void Parser::jwtSubscribeClaim(const Line& line, Scope&) {
    once(line, "jwt_subscribe_claim");
    cfg_.jwt.subscribe_claim = std::string(single(line));
}

// ---- HTTP (ours): one server for /metrics, /api/v1 and the dashboard.

void Parser::httpListener(const Line& line, Scope& scope) {
    if (line.args.empty()) fail(line, "'http_listener' needs a port");
    if (line.args.size() > 2)
        fail(line, "'http_listener' takes a port and an optional address, got " + inQuotes(line.rest));
    once(line, "http_listener");
    HttpListener h;
    h.port = static_cast<uint16_t>(parseUnsigned(line.args[0], 65535, "http_listener port"));
    if (line.args.size() == 2) {
        std::string_view addr = line.args[1];
        if (!isValidHost(addr))
            fail(line, "'http_listener' address " + inQuotes(addr) + " is not an IP address or host name");
        h.address = std::string(addr);
    }
    h.source = line.where;
    cfg_.http_listener = std::move(h);
    // Like `listener`, it opens a block: the TLS options after it are the HTTP server's.
    scope.http = true;
    scope.listener.reset();
}

void Parser::httpAuthToken(const Line& line, Scope&) {
    cfg_.http_auth_token_file = onceText(line, "http_auth_token");
}

void Parser::httpUser(const Line& line, Scope&) {
    if (line.args.empty() || line.args.size() > 2)
        fail(line, "'http_user' takes a user name of the password_file and a role (admin or read)");
    std::string role = line.args.size() == 2 ? std::string(line.args[1]) : "read";
    if (role != "admin" && role != "read") fail(line, "'http_user' role must be admin or read, got " + inQuotes(role));
    if (!cfg_.http_users.emplace(std::string(line.args[0]), role).second)
        fail(line, "'http_user' " + inQuotes(line.args[0]) + " is given twice");
    first_set_.emplace("http_user", line.where);
}

void Parser::checkHttp() {
    if (!cfg_.http_listener) {
        for (const char* d : {"http_auth_token", "http_user"})
            if (auto it = first_set_.find(d); it != first_set_.end())
                throw ConfigError(it->second + ": '" + d + "' needs an 'http_listener'");
        return;
    }
    if (!cfg_.http_users.empty() && cfg_.password_file.empty())
        throw ConfigError(first_set_.at("http_user") + ": 'http_user' needs a 'password_file' to check passwords");
    // The MQTT listeners bind with SO_REUSEPORT; an HTTP server on the same port would fail to start with a
    // less helpful message, so refuse it here with both lines.
    const HttpListener& h = *cfg_.http_listener;
    for (const auto& l : cfg_.listeners) {
        if (h.port != 0 && l.port == h.port && (l.address == h.address || l.address.empty() || h.address.empty()))
            throw ConfigError(h.source + ": 'http_listener' on port " + std::to_string(h.port) +
                              " overlaps the listener at " + l.source);
    }
}

void Parser::maxKeepalive(const Line& line, Scope&) {
    cfg_.max_keepalive = static_cast<uint16_t>(parseUnsigned(single(line), 65535, "max_keepalive"));
    if (cfg_.max_keepalive < 10) warn(line, "'max_keepalive' below 10 seconds is not recommended");
}

void Parser::messageSizeLimit(const Line& line, Scope&) {
    // The largest payload MQTT can carry.
    cfg_.message_size_limit = static_cast<uint32_t>(parseUnsigned(single(line), 268'435'455, "message_size_limit"));
}

void Parser::maxPacketSize(const Line& line, Scope&) {
    std::string_view value = single(line);
    uint64_t v = parseUnsigned(value, 268'435'460, "max_packet_size");
    // Mosquitto forbids values below 20 bytes: no useful PUBLISH fits. 0 keeps the protocol maximum.
    if (v != 0 && v < 20)
        fail(line, "'max_packet_size' must be 0 (no limit) or between 20 and 268435460, got " + inQuotes(value));
    cfg_.max_packet_size = static_cast<uint32_t>(v);
}

void Parser::maxInflightMessages(const Line& line, Scope&) {
    cfg_.max_inflight_messages = static_cast<uint16_t>(parseUnsigned(single(line), 65535, "max_inflight_messages"));
}

void Parser::maxTopicAlias(const Line& line, Scope&) {
    cfg_.max_topic_alias = static_cast<uint16_t>(parseUnsigned(single(line), 65535, "max_topic_alias"));
}

void Parser::sharedSubscriptionStrategy(const Line& line, Scope&) {
    std::string v(single(line));
    if (v != "round_robin" && v != "random" && v != "hash_client" && v != "hash_topic" && v != "sticky")
        fail(line,
             "'shared_subscription_strategy' must be round_robin, random, hash_client, hash_topic or sticky, got " +
                 inQuotes(v));
    cfg_.shared_subscription_strategy = v;
}

void Parser::maxQueuedMessages(const Line& line, Scope&) {
    cfg_.max_queued_messages =
        static_cast<uint32_t>(parseUnsigned(single(line), std::numeric_limits<uint32_t>::max(), "max_queued_messages"));
}

void Parser::maxQueuedBytes(const Line& line, Scope&) {
    cfg_.max_queued_bytes = parseUnsigned(single(line), std::numeric_limits<uint64_t>::max(), "max_queued_bytes");
}

void Parser::queueQos0Messages(const Line& line, Scope&) {
    cfg_.queue_qos0_messages = parseBool(single(line), "queue_qos0_messages");
}

void Parser::retainAvailable(const Line& line, Scope&) {
    cfg_.retain_available = parseBool(single(line), "retain_available");
}

void Parser::allowZeroLengthClientid(const Line& line, Scope&) {
    cfg_.allow_zero_length_clientid = parseBool(single(line), "allow_zero_length_clientid");
}

void Parser::autoIdPrefix(const Line& line, Scope&) {
    cfg_.auto_id_prefix = onceText(line, "auto_id_prefix");
}

void Parser::sysInterval(const Line& line, Scope&) {
    cfg_.sys_interval =
        static_cast<uint32_t>(parseUnsigned(single(line), std::numeric_limits<uint32_t>::max(), "sys_interval"));
}

void Parser::outputLimit(const Line& line, Scope&) {
    if (line.args.size() != 3)
        fail(line, "'output_limit' takes SOFT_BYTES HARD_BYTES SOFT_SECONDS (e.g. output_limit 8mb 32mb 10), got " +
                       (line.rest.empty() ? std::string("nothing") : inQuotes(line.rest)));
    uint64_t soft = parseByteSize(line.args[0], "output_limit");
    uint64_t hard = parseByteSize(line.args[1], "output_limit");
    auto seconds = static_cast<uint32_t>(
        parseUnsigned(line.args[2], std::numeric_limits<uint32_t>::max(), "output_limit seconds"));
    constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();
    if (soft == 0) soft = kNone;
    if (hard == 0) hard = kNone;
    if (soft > hard && soft != kNone)
        fail(line, "'output_limit' soft limit " + inQuotes(line.args[0]) + " is above the hard limit " +
                       inQuotes(line.args[1]));
    cfg_.output_limit_soft = soft;
    cfg_.output_limit_hard = hard;
    cfg_.output_limit_soft_seconds = seconds;
}

void Parser::perListenerSettings(const Line& line, Scope&) {
    bool value = parseBool(single(line), "per_listener_settings");
    // It changes what the lines after it mean, so, as in Mosquitto, it comes before any listener.
    if (!cfg_.listeners.empty()) fail(line, "'per_listener_settings' must come before the first 'listener'");
    cfg_.per_listener_settings = value;
}

void Parser::pidFile(const Line& line, Scope&) {
    cfg_.pid_file = onceText(line, "pid_file");
}

void Parser::user(const Line& line, Scope&) {
    cfg_.user = onceText(line, "user");
}

void Parser::retryInterval(const Line& line, Scope&) {
    // Mosquitto 2.0 accepts it and warns likewise: MQTT resends only on reconnect.
    warn(line, "'retry_interval' is obsolete and has no effect");
}

void Parser::includeDir(const Line& line, Scope&) {
    // Mosquitto skips include_dir in included files without a word; we say so instead.
    if (!line.main) fail(line, "'include_dir' is only allowed in the main configuration file");
    std::string dir = text(line);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        bool exists = fs::exists(dir, ec);
        fail(line,
             "cannot open include_dir " + inQuotes(dir) + ": " + (exists ? "not a directory" : "no such directory"));
    }
    std::vector<std::string> names;
    fs::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        std::error_code file_ec;
        if (name.size() > 5 && name.compare(name.size() - 5, 5, ".conf") == 0 && it->is_regular_file(file_ec))
            names.push_back(std::move(name));
    }
    if (ec) fail(line, "cannot read include_dir " + inQuotes(dir) + ": " + ec.message());
    std::sort(names.begin(), names.end(), mosquittoFileOrder);
    for (const auto& name : names) {
        std::string path = (fs::path(dir) / name).string();
        if (!main_path_.empty() && fs::equivalent(path, main_path_, ec))
            fail(line,
                 "include_dir " + inQuotes(dir) + " contains the main configuration file " + inQuotes(main_path_));
        std::string content, error;
        if (!readTextFile(path, content, error)) fail(line, "cannot read " + inQuotes(path) + ": " + error);
        parseFile(content, path, false);
    }
}

// ---- Logging

void Parser::logDest(const Line& line, Scope&) {
    if (line.args.empty()) fail(line, "'log_dest' needs a destination");
    std::string_view kind = line.args[0];
    auto& dests = cfg_.log_dest;
    if (kind == "file") {
        // The rest of the line is the path, spaces included (Mosquitto's reading).
        std::string_view path = trim(line.rest.substr(4));
        if (path.empty()) fail(line, "'log_dest file' needs a path");
        if (!isValidUtf8(path)) fail(line, "'log_dest file' path is not valid UTF-8");
        for (const auto& d : dests)
            if (d.dest == LogDest::kFile) fail(line, "only one 'log_dest file' may be given");
        std::erase_if(dests, [](const LogTarget& d) { return d.dest == LogDest::kNone; });
        dests.push_back(LogTarget{LogDest::kFile, std::string(path)});
        return;
    }
    static const std::map<std::string_view, LogDest> kKinds = {
        {"stdout", LogDest::kStdout}, {"stderr", LogDest::kStderr}, {"syslog", LogDest::kSyslog},
        {"topic", LogDest::kTopic},   {"none", LogDest::kNone},
    };
    auto k = kKinds.find(kind);
    if (k == kKinds.end())
        fail(line, "'log_dest' must be stdout, stderr, file PATH, syslog, topic or none, got " + inQuotes(kind));
    if (line.args.size() > 1) fail(line, "'log_dest " + std::string(kind) + "' takes no further value");
    // As in Mosquitto: `none` clears what came before, and any later destination replaces `none`.
    if (k->second == LogDest::kNone) {
        dests.assign(1, LogTarget{LogDest::kNone, ""});
        return;
    }
    std::erase_if(dests, [](const LogTarget& d) { return d.dest == LogDest::kNone; });
    for (const auto& d : dests)
        if (d.dest == k->second) return;
    dests.push_back(LogTarget{k->second, ""});
}

void Parser::logType(const Line& line, Scope&) {
    static const std::set<std::string_view, std::less<>> kTypes = {
        "debug", "error", "warning", "notice", "information", "subscribe", "unsubscribe", "websockets", "none", "all",
    };
    std::string_view type = single(line);
    if (!kTypes.count(type))
        fail(line,
             "'log_type' must be one of debug, error, warning, notice, information, subscribe, unsubscribe, "
             "websockets, none, all; got " +
                 inQuotes(type));
    auto& types = cfg_.log_type;
    // As in Mosquitto: `none` clears what came before, and any later type replaces `none`.
    if (type == "none") types.clear();
    if (type != "none") types.erase("none");
    types.insert(std::string(type));
}

void Parser::logTimestamp(const Line& line, Scope&) {
    cfg_.log_timestamp = parseBool(single(line), "log_timestamp");
}

void Parser::logTimestampFormat(const Line& line, Scope&) {
    cfg_.log_timestamp_format = onceText(line, "log_timestamp_format");
}

// ---- After the main file

void Parser::finish() {
    // Mosquitto's implicit default listener: it exists once `port` or `bind_address` is given.
    if (legacy_port_ || legacy_address_) {
        Listener l;
        l.port = legacy_port_.value_or(1883);
        l.address = legacy_address_.value_or("");
        l.source = legacy_where_;
        l.tls = default_tls_;
        cfg_.listeners.push_back(std::move(l));
    } else if (default_tls_.any()) {
        throw ConfigError(default_tls_where_ +
                          ": TLS options outside a listener need a 'port' (Mosquitto's default listener) or a "
                          "'listener' line before them");
    }
    for (auto& l : cfg_.listeners) {
        l.tls.psk_file = psk_file_;
        const auto& t = l.tls;
        if (!t.psk_hint.empty() && psk_file_.empty()) throw ConfigError(l.source + ": 'psk_hint' needs a 'psk_file'");
        if (!t.certfile.empty() && t.keyfile.empty()) throw ConfigError(l.source + ": 'certfile' needs a 'keyfile'");
        if (!t.keyfile.empty() && t.certfile.empty()) throw ConfigError(l.source + ": 'keyfile' needs a 'certfile'");
        if ((t.require_certificate || t.use_identity_as_username || t.use_subject_as_username) && !t.enabled())
            throw ConfigError(l.source + ": client certificate options need TLS ('certfile' and 'keyfile')");
        if (t.require_certificate && t.cafile.empty() && t.capath.empty())
            throw ConfigError(l.source + ": 'require_certificate true' needs a 'cafile' or 'capath'");
    }
    if (cfg_.http_listener) {
        const auto& h = *cfg_.http_listener;
        const auto& t = h.tls;
        if (!t.certfile.empty() && t.keyfile.empty()) throw ConfigError(h.source + ": 'certfile' needs a 'keyfile'");
        if (!t.keyfile.empty() && t.certfile.empty()) throw ConfigError(h.source + ": 'keyfile' needs a 'certfile'");
        if (t.any() && !t.enabled())
            throw ConfigError(h.source + ": TLS options of http_listener need 'certfile' and 'keyfile'");
        if (t.require_certificate && t.cafile.empty() && t.capath.empty())
            throw ConfigError(h.source + ": 'require_certificate true' needs a 'cafile' or 'capath'");
    }
    checkJwt();
    checkHttp();
    // Two listeners on one port and address would both bind with SO_REUSEPORT and split the connections
    // between them without an error; refuse it here, where we can say which lines.
    const auto& ls = cfg_.listeners;
    for (size_t j = 0; j < ls.size(); ++j) {
        for (size_t i = 0; i < j; ++i) {
            if (ls[j].port != 0 && ls[i].port == ls[j].port && ls[i].address == ls[j].address)
                throw ConfigError(ls[j].source + ": a listener on " + describeListener(ls[j]) +
                                  " is already defined at " + ls[i].source);
        }
    }
}

// The jwt_* lines only make sense together; the message names the line that needs another.
void Parser::checkJwt() {
    const JwtSettings& j = cfg_.jwt;
    auto where = [&](std::string_view directive) {
        auto it = first_set_.find(directive);
        return it == first_set_.end() ? std::string() : it->second + ": ";
    };
    if (!j.enabled()) {
        for (std::string_view d : {"jwt_algorithms", "jwt_issuer", "jwt_audience", "jwt_username_claim",
                                   "jwt_publish_claim", "jwt_subscribe_claim"}) {
            if (first_set_.count(d))
                throw ConfigError(where(d) + inQuotes(d) +
                                  " needs 'jwt_key_file', 'jwt_jwks_file' or 'jwt_secret_file'");
        }
        return;
    }
    // One source of public keys: with both, which one a token's `kid` (or its absence) picks would be a guess.
    if (!j.key_file.empty() && !j.jwks_file.empty()) {
        auto key_at = first_set_.find("jwt_key_file");
        throw ConfigError(where("jwt_jwks_file") + "'jwt_jwks_file' cannot be combined with 'jwt_key_file'" +
                          (key_at == first_set_.end() ? std::string() : " (at " + key_at->second + ")") +
                          ": put that key in the key set, or use one of them");
    }
    for (const auto& a : j.algorithms) {
        if (a == "HS256" && j.secret_file.empty())
            throw ConfigError(where("jwt_algorithms") +
                              "'jwt_algorithms' lists HS256 but 'jwt_secret_file' is not set");
        if (a != "HS256" && j.key_file.empty() && j.jwks_file.empty())
            throw ConfigError(where("jwt_algorithms") + "'jwt_algorithms' lists " + a +
                              " but neither 'jwt_key_file' nor 'jwt_jwks_file' is set");
    }
    if (j.username_claim == j.publish_claim || j.username_claim == j.subscribe_claim ||
        j.publish_claim == j.subscribe_claim) {
        std::string_view d = first_set_.count("jwt_subscribe_claim") ? "jwt_subscribe_claim"
                             : first_set_.count("jwt_publish_claim") ? "jwt_publish_claim"
                                                                     : "jwt_username_claim";
        throw ConfigError(where(d) +
                          "'jwt_username_claim', 'jwt_publish_claim' and 'jwt_subscribe_claim' must name different "
                          "claims, got '" +
                          j.username_claim + "', '" + j.publish_claim + "', '" + j.subscribe_claim + "'");
    }
}

}  // namespace starling::config
