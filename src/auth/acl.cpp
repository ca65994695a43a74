#include "auth/acl.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "auth/filter_cover.hpp"
#include "protocol/topic.hpp"

namespace starling::auth {
namespace {

constexpr std::string_view kBlank = " \t\r\n\f\v";

std::string_view trim(std::string_view s) {
    size_t b = s.find_first_not_of(kBlank);
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(kBlank) - b + 1);
}

// Splits off the first blank-separated word of `s` (already trimmed); `s` keeps the trimmed rest.
std::string_view firstWord(std::string_view& s) {
    size_t end = s.find_first_of(kBlank);
    std::string_view word = s.substr(0, end);
    s = end == std::string_view::npos ? std::string_view{} : trim(s.substr(end));
    return word;
}

std::optional<Acl::Access> parseAccess(std::string_view word) {
    if (word == "read") return Acl::kRead;
    if (word == "write") return Acl::kWrite;
    if (word == "readwrite") return Acl::kReadWrite;
    if (word == "deny") return Acl::kDeny;
    return std::nullopt;
}

// A value substituted into a pattern must stay inside its own level and must not turn a rule into a wider
// one or into a `$` topic.
bool safeForPattern(std::string_view value) {
    return !value.empty() && value.front() != '$' && value.find_first_of("+#/") == std::string_view::npos;
}

std::string substitute(std::string_view pattern, std::string_view client_id, std::string_view username) {
    std::string out;
    out.reserve(pattern.size() + client_id.size() + username.size());
    for (size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '%' && i + 1 < pattern.size() && (pattern[i + 1] == 'c' || pattern[i + 1] == 'u')) {
            out += pattern[i + 1] == 'c' ? client_id : username;
            ++i;
        } else {
            out += pattern[i];
        }
    }
    return out;
}

}  // namespace

Result<std::shared_ptr<const Acl>, std::string> Acl::load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return unexpected(path + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse(ss.str(), path);
}

Result<std::shared_ptr<const Acl>, std::string> Acl::parse(std::string_view text, std::string_view origin) {
    auto acl = std::make_shared<Acl>();
    RuleSet* current = &acl->anonymous_;
    int line_no = 0;
    auto error = [&](const std::string& why) {
        return unexpected(std::string(origin) + ":" + std::to_string(line_no) + ": " + why);
    };
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = trim(text.substr(0, nl));
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++line_no;
        if (line.empty() || line.front() == '#') continue;

        std::string_view rest = line;
        std::string_view keyword = firstWord(rest);
        if (keyword == "user") {
            if (rest.empty()) return error("'user' needs a user name");
            current = &acl->users_[std::string(rest)];  // a repeated `user` line adds to the same user
            continue;
        }
        if (keyword != "topic" && keyword != "pattern") {
            return error("unknown keyword '" + std::string(keyword) + "' (expected user, topic or pattern)");
        }
        if (rest.empty()) return error("'" + std::string(keyword) + "' needs a topic filter");
        // As in Mosquitto: one word is the filter (readwrite); with more, the first is the access type.
        Access access = kReadWrite;
        std::string_view filter = rest;
        std::string_view after = rest;
        std::string_view word = firstWord(after);
        if (!after.empty()) {
            auto a = parseAccess(word);
            if (!a) {
                return error("access type must be read, write, readwrite or deny, got '" + std::string(word) + "'");
            }
            access = *a;
            filter = after;
        }
        if (filter.starts_with("$share/")) return error("'" + std::string(filter) + "' is a shared subscription");
        if (!protocol::isValidTopicFilter(filter)) return error("invalid topic filter '" + std::string(filter) + "'");

        Rule rule{std::string(filter), access, line_no};
        if (keyword == "topic") {
            (access == kDeny ? current->deny : current->grant).push_back(std::move(rule));
        } else {
            bool c = filter.find("%c") != std::string_view::npos;
            bool u = filter.find("%u") != std::string_view::npos;
            (access == kDeny ? acl->deny_patterns_ : acl->grant_patterns_).push_back({std::move(rule), c, u});
        }
    }
    return std::shared_ptr<const Acl>(std::move(acl));
}

const Acl::RuleSet* Acl::rulesOf(const Client& c) const {
    if (!c.username) return &anonymous_;
    auto it = users_.find(*c.username);
    return it == users_.end() ? nullptr : &it->second;
}

bool Acl::decide(const Client& c, std::string_view subject, Access wanted, Check how) const {
    auto applies = [&](std::string_view filter) {
        return how == Check::kTopic ? protocol::topicMatches(filter, subject) : filterCovers(filter, subject);
    };
    const RuleSet* own = rulesOf(c);
    const bool id_safe = safeForPattern(c.client_id);
    const bool user_safe = c.username && safeForPattern(*c.username);
    // A pattern read for this client (the caller has checked that its values are safe).
    auto patternApplies = [&](const Pattern& p) {
        if (!p.uses_client_id && !p.uses_username) return applies(p.rule.filter);
        return applies(substitute(p.rule.filter, c.client_id, c.username.value_or("")));
    };

    // Deny rules first: any that applies wins.
    if (own) {
        for (const Rule& r : own->deny)
            if (applies(r.filter)) return false;
    }
    for (const Pattern& p : deny_patterns_) {
        if (p.uses_username && !c.username) continue;  // no username, no `%u` space to protect
        // A deny pattern that cannot be read safely for this client is taken to deny everything.
        if ((p.uses_client_id && !id_safe) || (p.uses_username && !user_safe)) return false;
        if (patternApplies(p)) return false;
    }
    if (own) {
        for (const Rule& r : own->grant)
            if ((r.access & wanted) && applies(r.filter)) return true;
    }
    for (const Pattern& p : grant_patterns_) {
        if (!(p.rule.access & wanted)) continue;
        if ((p.uses_client_id && !id_safe) || (p.uses_username && !user_safe)) continue;
        if (patternApplies(p)) return true;
    }
    return false;
}

bool Acl::canPublish(const Client& c, std::string_view topic) const {
    return decide(c, topic, kWrite, Check::kTopic);
}

bool Acl::canReceive(const Client& c, std::string_view topic) const {
    return decide(c, topic, kRead, Check::kTopic);
}

bool Acl::canSubscribe(const Client& c, std::string_view filter) const {
    if (auto shared = protocol::parseSharedSubscription(filter)) filter = shared->filter;
    return decide(c, filter, kRead, Check::kFilter);
}

bool Acl::everyoneCanWriteEverything() const {
    for (const Pattern& p : grant_patterns_) {
        if (!p.uses_client_id && !p.uses_username && (p.rule.access & kWrite) && filterCovers(p.rule.filter, "#"))
            return true;
    }
    return false;
}

bool Acl::anonymousCanWriteEverything() const {
    if (everyoneCanWriteEverything()) return true;
    for (const Rule& r : anonymous_.grant)
        if ((r.access & kWrite) && filterCovers(r.filter, "#")) return true;
    return false;
}

}  // namespace starling::auth
