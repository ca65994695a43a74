#pragma once
// The broker's configuration, read from a file in Mosquitto's dialect (see `man mosquitto.conf`): one
// directive per line, `#` comments, `listener` starting a listener block, `include_dir` pulling in
// `*.conf` files in sorted order. Plain values; built at start-up or on SIGHUP by one thread.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace starling::config {

// A configuration error, with where it is: "starling.conf:12: unknown directive 'foo'".
class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A listener's TLS settings, Mosquitto's per-listener directives. TLS is on when certfile is set.
struct TlsSettings {
    std::string certfile, keyfile, cafile, capath, crlfile;
    bool require_certificate = false;
    bool use_identity_as_username = false;  // the client certificate's CN is the username
    bool use_subject_as_username = false;   // its whole subject is
    std::string tls_version;                // tlsv1.2 or tlsv1.3: the minimum; empty: 1.2
    std::string ciphers;                    // TLS 1.2 cipher list (OpenSSL syntax)
    std::string ciphers_tls13;              // TLS 1.3 cipher suites
    std::string psk_hint;                   // TLS-PSK on this listener (the identity hint sent to clients)
    std::string psk_file;                   // the global psk_file, copied here: identity:hexkey lines
    bool enabled() const { return !certfile.empty() || !psk_hint.empty(); }
    bool any() const {
        return enabled() || !keyfile.empty() || !cafile.empty() || !capath.empty() || !crlfile.empty() ||
               require_certificate || use_identity_as_username || use_subject_as_username || !tls_version.empty() ||
               !ciphers.empty() || !ciphers_tls13.empty();
    }
};

struct Listener {
    uint16_t port = 1883;
    std::string address;            // empty: every address (IPv4 and IPv6)
    std::string protocol = "mqtt";  // "mqtt" (websockets: a later issue)
    int max_connections = -1;       // per listener; -1 unlimited
    std::string source;             // "file:line" of its `listener` line, for messages
    TlsSettings tls;
    // per_listener_settings true: this listener's own authentication settings (unset: the global ones).
    std::optional<std::string> password_file;
    std::optional<std::string> acl_file;
    std::optional<bool> allow_anonymous;
};

// The HTTP server for /metrics, the JSON admin API and the dashboard (ours: `http_listener PORT [ADDRESS]`).
struct HttpListener {
    uint16_t port = 0;
    std::string address;  // empty: every address (IPv4 and IPv6), as for `listener`
    std::string source;   // "file:line" of its `http_listener` line, for messages
    // HTTPS: the TLS options after `http_listener` (certfile, keyfile, cafile, capath, crlfile,
    // require_certificate, tls_version, ciphers, ciphers_tls1.3).
    TlsSettings tls;
};

enum class LogDest { kStdout, kStderr, kFile, kSyslog, kTopic, kNone };

struct LogTarget {
    LogDest dest = LogDest::kStderr;
    std::string path;  // kFile
};

// JWT bearer tokens given as the CONNECT password (our `jwt_*` directives). Enabled by a key, a key set or a
// secret.
struct JwtSettings {
    std::string key_file;                 // PEM public key (or certificate) for RS256/ES256
    std::string jwks_file;                // JSON Web Key Set (RFC 7517) for RS256/ES256, by `kid`; not with key_file
    std::string secret_file;              // shared secret for HS256 (trailing newlines are not part of it)
    std::vector<std::string> algorithms;  // subset of HS256 RS256 ES256; empty: what the key material allows
    std::string issuer;                   // empty: `iss` not checked
    std::string audience;                 // empty: tokens carrying an `aud` are refused
    std::string username_claim = "sub";
    std::string publish_claim = "pub";     // optional array of topic filters the token may publish to
    std::string subscribe_claim = "subs";  // ... and subscribe to (not "sub": that is the username claim)

    bool enabled() const { return !key_file.empty() || !jwks_file.empty() || !secret_file.empty(); }
};

struct Config {
    std::vector<Listener> listeners;  // empty after parsing means: the default (127.0.0.1 and ::1, 1883)

    // General
    unsigned worker_threads = 0;          // ours; 0 = number of cores
    std::optional<bool> allow_anonymous;  // unset: Mosquitto 2 semantics decided by the broker
    int max_connections = -1;             // global; -1 unlimited
    uint16_t max_keepalive = 65535;       // 0..65535; clients asking more are refused (3.1.1) / told (v5)
    uint32_t message_size_limit = 0;      // max PUBLISH payload; 0 = no limit beyond the protocol's
    uint32_t max_packet_size = 0;         // max whole packet from clients; 0 = protocol max (268435460)
    uint16_t max_inflight_messages = 20;  // per client outgoing QoS 1/2 window; 0 = unlimited
    uint16_t max_topic_alias = 10;        // v5 Topic Alias Maximum accepted from clients (Mosquitto's default)
    std::string shared_subscription_strategy = "round_robin";  // ours: round_robin|random|hash_client|hash_topic|sticky
    uint32_t max_queued_messages = 1000;                       // per client queue; 0 = unlimited
    uint64_t max_queued_bytes = 0;                             // per client queue bytes; 0 = unlimited
    bool queue_qos0_messages = false;
    bool retain_available = true;
    bool allow_zero_length_clientid = true;
    std::string auto_id_prefix = "auto-";
    uint32_t sys_interval = 10;  // seconds; 0 disables $SYS publishing

    // Per-connection output buffer limits (ours, after Redis' client-output-buffer-limit): above `soft` for
    // `soft_seconds` or above `hard` at once, QoS 0 deliveries are dropped (and counted). A limit written as 0
    // in the file means "none" and is stored as UINT64_MAX.
    uint64_t output_limit_soft = 8ull << 20;
    uint64_t output_limit_hard = 32ull << 20;
    uint32_t output_limit_soft_seconds = 10;

    // Authentication and authorisation, global as with Mosquitto's per_listener_settings false. Paths as
    // written: relative ones are relative to the working directory, as in Mosquitto.
    // Persistence: sessions, queues, in-flight messages and retained messages on an embedded store.
    bool persistence = false;
    std::string persistence_location = "starling-data";  // a directory
    std::string persistence_sync = "interval";           // none | interval | always
    uint32_t persistence_sync_interval_ms = 100;
    // Memory for the messages of offline persistent sessions' queues, shared equally by the workers; beyond it
    // queued messages stay on disk only and are read back when the session reconnects. 0 = no limit.
    uint64_t persistence_queue_memory = 256ull << 20;
    // Memory for retained messages (counted with their bookkeeping); beyond it the least recently used stay
    // on disk only and are read when a subscription matches them. 0 = no limit.
    uint64_t persistence_retained_memory = 256ull << 20;
    bool per_listener_settings = false;  // password_file, acl_file, allow_anonymous per listener
    std::string password_file;           // empty: none
    std::string acl_file;                // empty: none (every authenticated client may do anything)
    JwtSettings jwt;

    // HTTP (ours). Off unless `http_listener` is given. With `http_auth_token FILE` or `http_user`, every
    // endpoint but /health (and the static dashboard page, which holds no data) needs credentials: a bearer
    // token of the file (`TOKEN [admin|read]` per line) or HTTP Basic with a user of `password_file` named by
    // `http_user NAME [admin|read]`. Without either, reading is open and admin actions are refused.
    std::optional<HttpListener> http_listener;
    std::string http_auth_token_file;               // empty: no token
    std::map<std::string, std::string> http_users;  // user -> "admin" | "read"

    // Logging
    std::vector<LogTarget> log_dest;  // empty: stderr
    std::set<std::string> log_type;   // empty: error, warning, notice, information (Mosquitto's default)
    bool log_timestamp = true;
    std::string log_timestamp_format;  // strftime; empty = Unix seconds like Mosquitto

    // Process (Mosquitto's names; acted on by the app at start-up, not on reload)
    std::string pid_file;  // empty: write no pid file
    std::string user;      // empty: not set (Mosquitto then drops to "mosquitto" when started as root)

    // Non-fatal notes found while parsing, each "file:line: message" (deprecated `port`, ...). The app logs
    // them once logging is configured.
    std::vector<std::string> warnings;

    std::string source_path;  // the file it was read from ("" when built in code)
};

// Reads `path`. Throws ConfigError with file:line for: an unknown directive, a directive that a later
// issue implements ("'persistence' is not supported yet"), a missing or malformed value, a value out of
// range, a listener-only directive before any `listener`, an unreadable file or include_dir.
// The dialect, and where it departs from Mosquitto's, is described in `src/config/README.md`.
Config loadConfig(const std::string& path);
// Same, from text; `name` is used in messages.
Config parseConfig(const std::string& text, const std::string& name);

}  // namespace starling::config
