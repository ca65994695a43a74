#pragma once
// mosquitto_sub's output: the -F format language (%t %p %q %r %l %m %x %X %j %J %I %U, the v5 tokens
// %A %C %D %E %F %P %R %S, `@` strftime fields, `\` escapes) and the plain / -v forms, byte for byte as
// mosquitto_sub 2.0 prints them. Pure: appends to a string; the caller supplies the clock. Any thread.
#include <ctime>
#include <string>
#include <string_view>

#include "protocol/publish.hpp"

namespace starling::tools {

// Wall-clock time of a message, as mosquitto_sub reads it (local time, nanoseconds).
struct MessageTime {
    std::time_t seconds = 0;
    long nanoseconds = 0;
    static MessageTime now();
};

// Checks a -F format as mosquitto does; on error returns false and sets `error` to its message
// ("Error: Invalid format specifier 'z'.").
bool checkFormat(std::string_view format, std::string& error);

struct FormatOptions {
    bool eol = true;      // not -N
    bool pretty = false;  // --pretty (JSON); accepted, printed unformatted like the minimised form
};

// Appends the formatted message. Errors (payload not JSON for %J) are appended to `errors`.
void formatMessage(std::string& out, std::string& errors, std::string_view format, const protocol::Publish& msg,
                   const MessageTime& time, const FormatOptions& opts);

// The default output: the payload (with -v, "topic payload", or "topic (null)" for an empty one).
void formatPlain(std::string& out, const protocol::Publish& msg, bool verbose, bool eol);

// cJSON-compatible re-printing of a JSON text (minimised), as %J does; false when `text` is not JSON.
bool reprintJson(std::string& out, std::string_view text);
// A JSON string literal the way cJSON escapes it.
void appendJsonString(std::string& out, std::string_view s);

}  // namespace starling::tools
