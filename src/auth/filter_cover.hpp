#pragma once
// Whether one topic filter is at least as wide as another, for checking a SUBSCRIBE against access rules:
// a client allowed only `a/b/+` may subscribe `a/b/+` or `a/b/c` but not `a/#`. Pure; any thread.
#include <string_view>

namespace starling::auth {

// True when every topic name that `narrow` matches is also matched by `wide`. Both are valid, non-shared
// topic filters. Follows the matching rules of [MQTT-4.7.1-2] (`#` includes the parent level) and
// [MQTT-4.7.2-1] (a leading wildcard never matches a `$` topic), so `#` does not cover `$SYS/x` and `a/+/#`
// does not cover `a/#` (which also matches `a`).
bool filterCovers(std::string_view wide, std::string_view narrow);

}  // namespace starling::auth
