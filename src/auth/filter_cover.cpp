#include "auth/filter_cover.hpp"

#include <optional>

#include "protocol/topic.hpp"

namespace starling::auth {

using protocol::TopicLevels;

bool filterCovers(std::string_view wide, std::string_view narrow) {
    // A topic has at least one level, so at the top `#` matches exactly what `+/#` matches (both refuse a
    // leading `$`); deeper down `a/#` also matches `a`, which `a/+/#` does not.
    if (narrow == "#") return wide == "#" || wide == "+/#";

    TopicLevels w(wide), n(narrow);
    bool first = true;
    for (;;) {
        std::optional<std::string_view> wl = w.next();
        std::optional<std::string_view> nl = n.next();
        if (!wl) return !nl;  // `wide` ended: only an ended `narrow` is inside it
        if (*wl == "#") {
            // Covers this level and everything below, except a `$` topic at the top [MQTT-4.7.2-1].
            return !(first && nl && nl->starts_with('$'));
        }
        if (!nl) return false;  // `wide` needs more levels than `narrow` guarantees
        if (*nl == "#") return false;
        if (*wl == "+") {
            if (first && nl->starts_with('$')) return false;
        } else if (*wl != *nl) {
            return false;  // a literal covers only the same literal, not `+`
        }
        first = false;
    }
}

}  // namespace starling::auth
