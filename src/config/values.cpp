#include "config/values.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <limits>

namespace starling::config {

namespace {

std::string inQuotes(std::string_view s) {
    return "'" + std::string(s) + "'";
}

bool allDigits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// Digits only; false on overflow.
bool digitsToU64(std::string_view s, uint64_t& out) {
    uint64_t v = 0;
    for (char c : s) {
        uint64_t d = static_cast<uint64_t>(c - '0');
        if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
        v = v * 10 + d;
    }
    out = v;
    return true;
}

std::string lower(std::string_view s) {
    std::string r(s);
    for (char& c : r)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

}  // namespace

int64_t parseInteger(std::string_view text, int64_t min, int64_t max, std::string_view what) {
    bool negative = !text.empty() && text[0] == '-';
    std::string_view digits = negative ? text.substr(1) : text;
    auto range = [&] {
        return ValueError(inQuotes(what) + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
                          ", got " + inQuotes(text));
    };
    if (!allDigits(digits)) throw ValueError(inQuotes(what) + " expects an integer, got " + inQuotes(text));
    uint64_t magnitude = 0;
    if (!digitsToU64(digits, magnitude) || magnitude > uint64_t(std::numeric_limits<int64_t>::max())) throw range();
    int64_t v = negative ? -int64_t(magnitude) : int64_t(magnitude);
    if (v < min || v > max) throw range();
    return v;
}

uint64_t parseUnsigned(std::string_view text, uint64_t max, std::string_view what) {
    if (!allDigits(text)) {
        if (!text.empty() && text[0] == '-' && allDigits(text.substr(1)))
            throw ValueError(inQuotes(what) + " must be between 0 and " + std::to_string(max) + ", got " +
                             inQuotes(text));
        throw ValueError(inQuotes(what) + " expects an integer, got " + inQuotes(text));
    }
    uint64_t v = 0;
    if (!digitsToU64(text, v) || v > max)
        throw ValueError(inQuotes(what) + " must be between 0 and " + std::to_string(max) + ", got " + inQuotes(text));
    return v;
}

bool parseBool(std::string_view text, std::string_view what) {
    if (text == "true" || text == "1") return true;
    if (text == "false" || text == "0") return false;
    throw ValueError(inQuotes(what) + " expects true or false, got " + inQuotes(text));
}

uint64_t parseByteSize(std::string_view text, std::string_view what) {
    size_t n = 0;
    while (n < text.size() && text[n] >= '0' && text[n] <= '9')
        ++n;
    std::string unit = lower(text.substr(n));
    uint64_t mult = 0;
    if (unit.empty() || unit == "b") {
        mult = 1;
    } else if (unit == "k") {
        mult = 1000;
    } else if (unit == "kb") {
        mult = 1024;
    } else if (unit == "m") {
        mult = 1000 * 1000;
    } else if (unit == "mb") {
        mult = 1024 * 1024;
    } else if (unit == "g") {
        mult = 1000 * 1000 * 1000;
    } else if (unit == "gb") {
        mult = uint64_t(1024) * 1024 * 1024;
    }
    uint64_t v = 0;
    if (n == 0 || mult == 0)
        throw ValueError(inQuotes(what) + " expects a size such as 8mb, 512kb or 1048576, got " + inQuotes(text));
    if (!digitsToU64(text.substr(0, n), v) || v > std::numeric_limits<uint64_t>::max() / mult)
        throw ValueError(inQuotes(what) + " size " + inQuotes(text) + " is too large");
    return v * mult;
}

bool isValidHost(std::string_view text) {
    if (text.empty() || text.size() > 253 + 1) return false;
    std::string s(text);
    unsigned char buf[16];
    if (inet_pton(AF_INET, s.c_str(), buf) == 1) return true;
    if (s.find(':') != std::string::npos) {
        // IPv6, with an optional zone ("fe80::1%eth0").
        std::string addr = s;
        auto pct = s.find('%');
        if (pct != std::string::npos) {
            std::string zone = s.substr(pct + 1);
            if (zone.empty()) return false;
            for (char c : zone)
                if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
            addr = s.substr(0, pct);
        }
        return inet_pton(AF_INET6, addr.c_str(), buf) == 1;
    }
    // A host name (RFC 1123 labels; '_' tolerated as resolvers do). Digits and dots only would be a
    // mistyped IPv4 address, not a name.
    std::string_view name = text;
    if (name.back() == '.') name.remove_suffix(1);
    if (name.empty() || name.size() > 253) return false;
    bool only_digits_and_dots = true;
    size_t label = 0;
    for (size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '.') {
            if (label == 0 || label > 63) return false;
            if (name[i - 1] == '-' || name[i - label] == '-') return false;
            label = 0;
            continue;
        }
        char c = name[i];
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
        if (!std::isdigit(static_cast<unsigned char>(c))) only_digits_and_dots = false;
        ++label;
    }
    return !only_digits_and_dots;
}

bool isValidUtf8(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c == 0) return false;
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len = 0;
        uint32_t cp = 0;
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > text.size()) return false;
        for (size_t k = 1; k < len; ++k) {
            auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        // Overlong forms, surrogates and code points past U+10FFFF.
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
        if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
        i += len;
    }
    return true;
}

}  // namespace starling::config
