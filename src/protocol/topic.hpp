#pragma once
// Topic names, topic filters and matching [MQTT 5.0 section 4.7]. Pure; any thread.
#include <optional>
#include <string_view>

namespace starling::protocol {

// A topic name a client may publish to: 1..65535 bytes of valid UTF-8 without `+` or `#`
// [MQTT-4.7.3-1] [MQTT-3.3.2-2]. (Whether `$`-topics may be published is the broker's policy.)
bool isValidTopicName(std::string_view topic);

// A topic filter: non-empty UTF-8; `#` only as the last level and alone in it [MQTT-4.7.1-2]; `+` alone in
// its level [MQTT-4.7.1-3]; `$share/{group}/{filter}` with a non-empty group free of `+`, `#` and `/` and a
// valid non-empty filter [MQTT-4.8.2-1] [MQTT-4.8.2-2].
bool isValidTopicFilter(std::string_view filter);

struct SharedSubscription {
    std::string_view group;
    std::string_view filter;
};
// Splits `$share/group/filter`; nullopt when `filter` is not a shared subscription (or malformed).
std::optional<SharedSubscription> parseSharedSubscription(std::string_view filter);

// True when `topic` (a valid topic name) matches `filter` (a valid, non-shared topic filter). A filter
// starting with `#` or `+` never matches a topic starting with `$` [MQTT-4.7.2-1].
bool topicMatches(std::string_view filter, std::string_view topic);

// Iterates over the `/`-separated levels of a topic or filter; "a//b" has an empty middle level and "/"
// has two empty levels.
class TopicLevels {
  public:
    explicit TopicLevels(std::string_view s) : rest_(s), done_(false) {}
    // Next level, or nullopt after the last one.
    std::optional<std::string_view> next() {
        if (done_) return std::nullopt;
        auto slash = rest_.find('/');
        if (slash == std::string_view::npos) {
            done_ = true;
            return rest_;
        }
        auto level = rest_.substr(0, slash);
        rest_.remove_prefix(slash + 1);
        return level;
    }

  private:
    std::string_view rest_;
    bool done_;
};

}  // namespace starling::protocol
