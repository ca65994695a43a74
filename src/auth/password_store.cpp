#include "auth/password_store.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "auth/password_file.hpp"
#include "auth/password_hash.hpp"
#include "auth/scram.hpp"

namespace starling::auth {
namespace {

std::vector<std::string_view> splitDollar(std::string_view s) {
    std::vector<std::string_view> parts;
    for (;;) {
        size_t d = s.find('$');
        parts.push_back(s.substr(0, d));
        if (d == std::string_view::npos) return parts;
        s.remove_prefix(d + 1);
    }
}

std::optional<long> parseNumber(std::string_view s) {
    long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
    return v;
}

// "m=19456,t=3,p=1" -> the value of `key`.
std::optional<long> argon2Parameter(std::string_view params, char key) {
    for (std::string_view field : splitDollar(params)) {
        while (!field.empty()) {
            size_t comma = field.find(',');
            std::string_view kv = field.substr(0, comma);
            if (kv.size() > 2 && kv[0] == key && kv[1] == '=') return parseNumber(kv.substr(2));
            field.remove_prefix(comma == std::string_view::npos ? field.size() : comma + 1);
        }
    }
    return std::nullopt;
}

bool allNonEmpty(const std::vector<std::string_view>& parts) {
    for (auto p : parts)
        if (p.empty()) return false;
    return true;
}

}  // namespace

std::optional<HashNote> assessHash(std::string_view username, std::string_view hash, int line) {
    auto note = [&](HashNote::Kind kind, std::string detail) {
        return HashNote{kind, std::string(username), line, std::move(detail)};
    };
    const auto unusable = note(HashNote::kPlaintext, "not a hash Starling can verify (clear text or corrupt)");
    if (hash.starts_with("$6$")) {
        auto parts = splitDollar(hash.substr(3));
        if (parts.size() != 2 || !allNonEmpty(parts)) return unusable;
        return note(HashNote::kWeak, "single SHA-512 ($6$, Mosquitto 1.x)");
    }
    if (hash.starts_with("$7$")) {
        auto parts = splitDollar(hash.substr(3));
        if (parts.size() != 3 || !allNonEmpty(parts)) return unusable;
        auto iterations = parseNumber(parts[0]);
        if (!iterations || *iterations < 1) return unusable;
        if (*iterations < kMinPbkdf2Iterations) {
            return note(HashNote::kWeak, "PBKDF2-SHA512 with " + std::to_string(*iterations) + " iterations (below " +
                                             std::to_string(kMinPbkdf2Iterations) + ")");
        }
        return std::nullopt;
    }
    if (hash.starts_with(kScramPrefix)) {
        auto credential = parseScramVerifier(hash);
        if (!credential) return unusable;
        // RFC 7677 sets SCRAM-SHA-256's floor at 4096 iterations.
        if (credential->iterations < kDefaultScramIterations) {
            return note(HashNote::kWeak, "SCRAM-SHA-256 with " + std::to_string(credential->iterations) +
                                             " iterations (below " + std::to_string(kDefaultScramIterations) + ")");
        }
        return std::nullopt;
    }
    if (hash.starts_with("$argon2id$")) {
        // $argon2id$v=19$m=19456,t=3,p=1$salt$hash
        auto parts = splitDollar(hash.substr(10));
        if (parts.size() != 4 || !allNonEmpty(parts)) return unusable;
        auto m = argon2Parameter(parts[1], 'm');
        auto t = argon2Parameter(parts[1], 't');
        if (!m || !t) return unusable;
        if (*m * *t < kMinArgon2MemoryTimesPasses) {
            return note(HashNote::kWeak, "Argon2id with m=" + std::to_string(*m) + " KiB, t=" + std::to_string(*t) +
                                             " (below OWASP's minimum)");
        }
        return std::nullopt;
    }
    return unusable;
}

Result<std::shared_ptr<const PasswordStore>, std::string> PasswordStore::load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return unexpected(path + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse(ss.str(), path);
}

Result<std::shared_ptr<const PasswordStore>, std::string> PasswordStore::parse(std::string_view text,
                                                                               std::string_view origin) {
    auto store = std::make_shared<PasswordStore>();
    int line_no = 0;
    auto error = [&](const std::string& why) {
        return unexpected(std::string(origin) + ":" + std::to_string(line_no) + ": " + why);
    };
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++line_no;
        size_t first = line.find_first_not_of(" \t\r");
        if (first == std::string_view::npos || line[first] == '#') continue;

        PasswordLine parts = splitPasswordLine(line);
        if (parts.username.empty()) return error("corrupt password line (no user name)");
        if (parts.hash.empty()) return error("user '" + std::string(parts.username) + "' has no password hash");
        auto [it, inserted] =
            store->users_.try_emplace(std::string(parts.username), User{std::string(parts.hash), line_no});
        if (!inserted) {
            return error("user '" + std::string(parts.username) + "' is already defined at line " +
                         std::to_string(it->second.line));
        }
        auto note = assessHash(parts.username, parts.hash, line_no);
        if (note) store->notes_.push_back(std::move(*note));
        if (store->decoy_hash_.empty() && (!note || note->kind != HashNote::kPlaintext)) {
            store->decoy_hash_ = std::string(parts.hash);
        }
    }
    return std::shared_ptr<const PasswordStore>(std::move(store));
}

const std::string* PasswordStore::hashOf(std::string_view username) const {
    auto it = users_.find(username);
    return it == users_.end() ? nullptr : &it->second.hash;
}

PasswordStore::Check PasswordStore::check(std::string_view username, std::string_view password) const {
    auto it = users_.find(username);
    if (it == users_.end()) {
        if (!decoy_hash_.empty()) (void)verifyPassword(decoy_hash_, password);
        return Check::kUnknownUser;
    }
    return verifyPassword(it->second.hash, password) ? Check::kOk : Check::kBadPassword;
}

}  // namespace starling::auth
