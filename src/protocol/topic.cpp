// Topic names, topic filters, shared subscriptions and filter matching [MQTT 5.0 section 4.7, 4.8.2].
#include "protocol/topic.hpp"

#include <cstring>

#include "protocol/wire.hpp"

namespace starling::protocol {

namespace {

constexpr std::string_view kSharePrefix = "$share/";

// Wildcard placement in a non-shared filter: `#` alone in the last level [MQTT-4.7.1-1], `+` alone in its
// level [MQTT-4.7.1-2].
bool wildcardsWellPlaced(std::string_view f) {
    const size_t n = f.size();
    for (size_t i = 0; i < n; ++i) {
        char c = f[i];
        if (c != '+' && c != '#') continue;
        bool starts_level = i == 0 || f[i - 1] == '/';
        if (!starts_level) return false;
        if (c == '#') {
            if (i + 1 != n) return false;
        } else if (i + 1 != n && f[i + 1] != '/') {
            return false;
        }
    }
    return true;
}

// [MQTT-4.7.3-1] at least one character; [MQTT-4.7.3-3] at most 65535 bytes.
bool validLength(std::string_view s) {
    return !s.empty() && s.size() <= 65535;
}

// The `$share/{group}/{filter}` structure, on a filter whose length and UTF-8 are already checked.
std::optional<SharedSubscription> splitShared(std::string_view filter) {
    if (!filter.starts_with(kSharePrefix)) return std::nullopt;
    std::string_view rest = filter.substr(kSharePrefix.size());
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;  // [MQTT-4.8.2-2] a '/' must follow the name
    std::string_view group = rest.substr(0, slash);
    std::string_view inner = rest.substr(slash + 1);
    // [MQTT-4.8.2-1] non-empty ShareName; [MQTT-4.8.2-2] without '+' or '#'.
    if (group.empty() || group.find_first_of("+#") != std::string_view::npos) return std::nullopt;
    if (inner.empty() || !wildcardsWellPlaced(inner)) return std::nullopt;
    return SharedSubscription{group, inner};
}

}  // namespace

bool isValidTopicName(std::string_view topic) {
    if (!validLength(topic)) return false;
    if (std::memchr(topic.data(), '+', topic.size()) || std::memchr(topic.data(), '#', topic.size())) return false;
    return isValidUtf8(topic);  // also refuses U+0000 [MQTT-4.7.3-2]
}

std::optional<SharedSubscription> parseSharedSubscription(std::string_view filter) {
    if (!filter.starts_with(kSharePrefix) || !validLength(filter) || !isValidUtf8(filter)) return std::nullopt;
    return splitShared(filter);
}

bool isValidTopicFilter(std::string_view filter) {
    if (!validLength(filter) || !isValidUtf8(filter)) return false;
    if (filter.starts_with(kSharePrefix)) return splitShared(filter).has_value();
    return wildcardsWellPlaced(filter);
}

bool topicMatches(std::string_view filter, std::string_view topic) {
    const char* f = filter.data();
    const char* t = topic.data();
    const size_t fn = filter.size();
    const size_t tn = topic.size();
    // [MQTT-4.7.2-1] a filter starting with a wildcard never matches a topic starting with '$'.
    if (tn > 0 && t[0] == '$' && fn > 0 && (f[0] == '+' || f[0] == '#')) return false;

    size_t fi = 0, ti = 0;
    for (;;) {
        // Both cursors are at the start of a level.
        if (fi < fn && f[fi] == '#') return true;  // matches this level and everything below
        if (fi < fn && f[fi] == '+') {
            ++fi;
            // Any level, the empty one included.
            while (ti < tn && t[ti] != '/')
                ++ti;
        } else {
            while (fi < fn && ti < tn && f[fi] == t[ti] && f[fi] != '/') {
                ++fi;
                ++ti;
            }
            bool f_edge = fi == fn || f[fi] == '/';
            bool t_edge = ti == tn || t[ti] == '/';
            if (!f_edge || !t_edge) return false;
        }
        const bool f_end = fi == fn;
        const bool t_end = ti == tn;
        if (f_end) return t_end;
        if (t_end) {
            // "sport/#" also matches "sport": '#' includes the parent level.
            return fn - fi == 2 && f[fi + 1] == '#';
        }
        ++fi;  // both at '/'
        ++ti;
    }
}

}  // namespace starling::protocol
