#pragma once
// Strict parsers for the values of configuration directives. Pure functions, any thread. They throw
// ValueError with a message that names the value but not the place; the parser adds "file:line: ".
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace starling::config {

class ValueError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A decimal integer in [min, max]: an optional '-' then digits, nothing else (no '+', spaces, hex or
// suffix; unlike Mosquitto's atoi, "10s" and "1e3" are errors). `what` names the directive in messages.
int64_t parseInteger(std::string_view text, int64_t min, int64_t max, std::string_view what);
uint64_t parseUnsigned(std::string_view text, uint64_t max, std::string_view what);

// `true` or `false`; also `1` and `0`, which Mosquitto 2.0 accepts too.
bool parseBool(std::string_view text, std::string_view what);

// A byte count with an optional unit, after Redis: `b`, `k` = 1000, `kb` = 1024, `m` = 1000^2, `mb` =
// 1024^2, `g` = 1000^3, `gb` = 1024^3 (any case).
uint64_t parseByteSize(std::string_view text, std::string_view what);

// True for an IPv4 literal, an IPv6 literal (optionally with a %zone) or a syntactically valid host name.
bool isValidHost(std::string_view text);

// Well-formed UTF-8 without NUL or surrogates (what MQTT and Mosquitto require of strings).
bool isValidUtf8(std::string_view text);

}  // namespace starling::config
