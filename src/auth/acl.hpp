#pragma once
// Access rules from a Mosquitto `acl_file`. Loaded once (start-up or SIGHUP) and then immutable, so one
// object serves every worker without a lock; a reload builds a new object and swaps the shared_ptr.
//
// The format (mosquitto.conf(5), acl_file), one rule per line, `#` comments and blank lines skipped:
//   user NAME                                  the rules below apply to clients logged in as NAME
//   topic [read|write|readwrite|deny] FILTER   a rule for the current user; no access word = readwrite
//   pattern [read|write|readwrite|deny] FILTER a rule for every client, `%c` = client id, `%u` = username
// `topic` rules before any `user` line apply to clients without a username. FILTER is the rest of the line
// (it may contain spaces) and may use `+` and `#`.
//
// Decisions follow Mosquitto 2.0: with an acl_file, what no rule grants is denied; a `deny` rule that matches
// wins over any grant. Two departures, both stricter: a matching deny `pattern` also beats a user's own
// grant (Mosquitto checks a user's rules before the patterns), and a pattern is not applied with a client id
// or username that is empty, starts with `$` or holds `+`, `#` or `/` (Mosquitto refuses only `+` and `#`):
// otherwise client `a/b` would get `devices/%c/#` = `devices/a/b/#`, inside device `a`'s space. Such a
// pattern, when it denies, denies everything to that client. An unknown keyword is an error (Mosquitto
// skips the line).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/result.hpp"

namespace starling::auth {

// Who asks. `username` is nullopt for a client that sent none (the anonymous rules apply to it).
struct Client {
    std::string_view client_id;
    std::optional<std::string_view> username;
};

class Acl {
  public:
    enum Access : uint8_t { kDeny = 0, kRead = 1, kWrite = 2, kReadWrite = 3 };

    // Errors say "<path>:<line>: <why>" (or "<path>: <strerror>").
    [[nodiscard]] static Result<std::shared_ptr<const Acl>, std::string> load(const std::string& path);
    [[nodiscard]] static Result<std::shared_ptr<const Acl>, std::string> parse(std::string_view text,
                                                                               std::string_view origin);

    // PUBLISH to `topic` (a topic name).
    [[nodiscard]] bool canPublish(const Client& c, std::string_view topic) const;
    // Delivery of a message on `topic` (a topic name) to the client, retained messages included.
    [[nodiscard]] bool canReceive(const Client& c, std::string_view topic) const;
    // SUBSCRIBE to `filter` (a valid filter, `$share/GROUP/` allowed and ignored): some read rule must be at
    // least as wide as the whole filter, and no deny rule may be. A deny rule narrower than the filter does
    // not refuse the subscription; canReceive() then keeps those messages from the client.
    [[nodiscard]] bool canSubscribe(const Client& c, std::string_view filter) const;

    // A pattern without `%c`/`%u` that grants write on `#`: every client may publish (almost) anywhere.
    [[nodiscard]] bool everyoneCanWriteEverything() const;
    // The same for the rules of clients without a username (those before any `user` line).
    [[nodiscard]] bool anonymousCanWriteEverything() const;

    size_t userCount() const { return users_.size(); }

  private:
    struct Rule {
        std::string filter;
        Access access;
        int line;
    };
    // A client's applicable rules, deny rules apart so they are checked first.
    struct RuleSet {
        std::vector<Rule> deny;
        std::vector<Rule> grant;
    };
    struct Pattern {
        Rule rule;
        bool uses_client_id;
        bool uses_username;
    };
    struct StringHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    enum class Check { kTopic, kFilter };
    bool decide(const Client& c, std::string_view subject, Access wanted, Check how) const;
    const RuleSet* rulesOf(const Client& c) const;

    RuleSet anonymous_;
    std::unordered_map<std::string, RuleSet, StringHash, std::equal_to<>> users_;
    std::vector<Pattern> deny_patterns_;
    std::vector<Pattern> grant_patterns_;
};

}  // namespace starling::auth
