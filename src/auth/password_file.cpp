#include "auth/password_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "auth/password_hash.hpp"

namespace starling::auth {
namespace {

std::string_view trimBlanks(std::string_view s) {
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && blank(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && blank(s.back()))
        s.remove_suffix(1);
    return s;
}

}  // namespace

PasswordLine splitPasswordLine(std::string_view line) {
    // strtok(":") semantics: leading separators are skipped.
    size_t start = line.find_first_not_of(':');
    if (start == std::string_view::npos) return {};
    line.remove_prefix(start);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return {trimBlanks(line), {}};
    std::string_view user = line.substr(0, colon);
    std::string_view rest = line.substr(colon + 1);
    size_t hstart = rest.find_first_not_of(':');
    if (hstart == std::string_view::npos) return {trimBlanks(user), {}};
    rest.remove_prefix(hstart);
    return {trimBlanks(user), trimBlanks(rest.substr(0, rest.find(':')))};
}

Result<PasswordFile, std::string> PasswordFile::load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return unexpected(path + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse(ss.str(), path);
}

Result<PasswordFile, std::string> PasswordFile::parse(std::string_view text, std::string_view origin) {
    PasswordFile file;
    int line_no = 0;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++line_no;
        std::string_view trimmed = trimBlanks(line);
        if (trimmed.empty() || trimmed.front() == '#') continue;
        PasswordLine parts = splitPasswordLine(line);
        if (parts.username.empty() || parts.hash.empty()) {
            return unexpected(std::string(origin) + ":" + std::to_string(line_no) + ": corrupt password line");
        }
        file.entries_.push_back({std::string(parts.username), std::string(parts.hash)});
    }
    return file;
}

const PasswordEntry* PasswordFile::find(std::string_view username) const {
    for (const auto& e : entries_) {
        if (e.username == username) return &e;
    }
    return nullptr;
}

bool PasswordFile::verify(std::string_view username, std::string_view password) const {
    const PasswordEntry* e = find(username);
    return e && verifyPassword(e->hash, password);
}

}  // namespace starling::auth
