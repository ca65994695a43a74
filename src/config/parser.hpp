#pragma once
// Fills a Config from the text of the main file and of the files its `include_dir` lines name. Used by
// loadConfig/parseConfig only; one parse per object, by one thread.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace starling::config {

class Parser {
  public:
    // `main_path`: the main file on disk ("" for text), so an include_dir holding it can be refused.
    Parser(Config& cfg, std::string main_path) : cfg_(cfg), main_path_(std::move(main_path)) {}

    // Parses `text` as the file `name`. Files read through include_dir pass `main` = false.
    void parseFile(std::string_view text, const std::string& name, bool main);
    // After the main file: adds the legacy default listener and runs the checks that span lines.
    void finish();

  private:
    struct Line {
        std::string_view directive;
        std::vector<std::string_view> args;  // space/tab separated, a trailing `#...` comment removed
        std::string_view rest;               // everything after the directive, verbatim but trimmed
        std::string where;                   // "file:line"
        bool main = true;
    };
    // Which listener block the lines of one file are in; every file starts outside any block, as in
    // Mosquitto.
    struct Scope {
        std::optional<size_t> listener;
        bool http = false;  // after `http_listener` (until the next `listener`): TLS options are the HTTP server's
    };
    using Handler = void (Parser::*)(const Line&, Scope&);

    void apply(const Line& line, Scope& scope);
    // Listener options that mean nothing for the HTTP server fail inside its block, rather than silently
    // applying elsewhere.
    static void notInHttp(const Line& line, const Scope& scope);
    [[noreturn]] static void fail(const Line& line, const std::string& message);
    void warn(const Line& line, const std::string& message);

    static std::string_view single(const Line& line);
    std::string text(const Line& line);                             // rest of line, checked UTF-8
    std::string onceText(const Line& line, std::string_view what);  // same, refused when set twice
    void once(const Line& line, std::string_view what);             // refuses a directive's second line

    // Listeners
    void listener(const Line& line, Scope& scope);
    void port(const Line& line, Scope& scope);
    void tlsOption(const Line& line, Scope& scope);
    void pskFile(const Line& line, Scope& scope);
    void authFile(const Line& line, Scope& scope, std::optional<std::string> Listener::*own,
                  std::string Config::*global);
    void persistence(const Line& line, Scope& scope);
    void bindAddress(const Line& line, Scope& scope);
    void protocol(const Line& line, Scope& scope);
    void maxConnections(const Line& line, Scope& scope);
    // General
    void workerThreads(const Line& line, Scope& scope);
    void allowAnonymous(const Line& line, Scope& scope);
    // Authentication and authorisation
    void passwordFile(const Line& line, Scope& scope);
    void aclFile(const Line& line, Scope& scope);
    void jwtKeyFile(const Line& line, Scope& scope);
    void jwtJwksFile(const Line& line, Scope& scope);
    void jwtSecretFile(const Line& line, Scope& scope);
    void jwtAlgorithms(const Line& line, Scope& scope);
    void jwtIssuer(const Line& line, Scope& scope);
    void jwtAudience(const Line& line, Scope& scope);
    void jwtUsernameClaim(const Line& line, Scope& scope);
    void jwtPublishClaim(const Line& line, Scope& scope);
    void jwtSubscribeClaim(const Line& line, Scope& scope);
    void checkJwt();
    // HTTP
    void httpListener(const Line& line, Scope& scope);
    void httpAuthToken(const Line& line, Scope& scope);
    void httpUser(const Line& line, Scope& scope);
    void checkHttp();
    void maxKeepalive(const Line& line, Scope& scope);
    void messageSizeLimit(const Line& line, Scope& scope);
    void maxPacketSize(const Line& line, Scope& scope);
    void maxInflightMessages(const Line& line, Scope& scope);
    void maxTopicAlias(const Line& line, Scope& scope);
    void sharedSubscriptionStrategy(const Line& line, Scope& scope);
    void maxQueuedMessages(const Line& line, Scope& scope);
    void maxQueuedBytes(const Line& line, Scope& scope);
    void queueQos0Messages(const Line& line, Scope& scope);
    void retainAvailable(const Line& line, Scope& scope);
    void allowZeroLengthClientid(const Line& line, Scope& scope);
    void autoIdPrefix(const Line& line, Scope& scope);
    void sysInterval(const Line& line, Scope& scope);
    void outputLimit(const Line& line, Scope& scope);
    void perListenerSettings(const Line& line, Scope& scope);
    void pidFile(const Line& line, Scope& scope);
    void user(const Line& line, Scope& scope);
    void retryInterval(const Line& line, Scope& scope);
    void includeDir(const Line& line, Scope& scope);
    // Logging
    void logDest(const Line& line, Scope& scope);
    void logType(const Line& line, Scope& scope);
    void logTimestamp(const Line& line, Scope& scope);
    void logTimestampFormat(const Line& line, Scope& scope);

    Config& cfg_;
    std::string main_path_;
    // The legacy default listener (`port`, `bind_address`), added by finish() when either was given.
    std::optional<uint16_t> legacy_port_;
    std::optional<std::string> legacy_address_;
    TlsSettings default_tls_;  // TLS options before any listener: the default listener's
    std::string default_tls_where_;
    std::string psk_file_;
    std::string legacy_where_;
    std::map<std::string, std::string, std::less<>> first_set_;  // once-only directive -> "file:line"
};

// Reads a whole file; false with `error` set ("No such file or directory", "is a directory") on failure.
bool readTextFile(const std::string& path, std::string& out, std::string& error);

}  // namespace starling::config
