#pragma once
// A Mosquitto password file: one `username:hash` per line, `#` comments and blank lines ignored. Loaded once
// (at start-up or SIGHUP) and then read-only, so a loaded file may be shared between threads.
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace starling::auth {

struct PasswordEntry {
    std::string username;
    std::string hash;  // encoded as password_hash.hpp describes
};

class PasswordFile {
  public:
    // Errors say "<path>:<line>: <why>" (or "<path>: <strerror>").
    [[nodiscard]] static Result<PasswordFile, std::string> load(const std::string& path);
    [[nodiscard]] static Result<PasswordFile, std::string> parse(std::string_view text, std::string_view origin = "");

    // True when `username` is in the file and `password` matches its hash.
    [[nodiscard]] bool verify(std::string_view username, std::string_view password) const;
    [[nodiscard]] const PasswordEntry* find(std::string_view username) const;
    const std::vector<PasswordEntry>& entries() const { return entries_; }

  private:
    std::vector<PasswordEntry> entries_;
};

// Splits a line the way Mosquitto does: the user name up to the first ':', the hash up to the next ':' (or
// the end), both with surrounding blanks removed. Empty parts mean a corrupt line.
struct PasswordLine {
    std::string_view username;
    std::string_view hash;
};
PasswordLine splitPasswordLine(std::string_view line);

}  // namespace starling::auth
