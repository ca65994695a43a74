#pragma once
// A topic name cut into its levels once per PUBLISH, so that every trie the message is matched against
// (route index, shared routes, local subscriptions) reuses the levels and their hashes. Pure; an instance
// is used by the thread that made it (it caches the hashes as they are computed) and the topic it views
// must outlive it.
#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

namespace starling::broker {

// One level of a topic name and its hash (as LevelHash hashes the same text).
struct HashedLevel {
    std::string_view text;
    mutable size_t hash = 0;  // 0: not computed yet
};

// Hashes a level as text, or takes the hash a HashedLevel already carries. Not noexcept on purpose:
// libstdc++ then keeps each key's hash in its node, so a lookup compares hashes before bytes and never
// hashes a stored key again to find where a bucket ends.
struct LevelHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    size_t operator()(const HashedLevel& l) const { return l.hash; }
};

struct LevelEqual {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
    bool operator()(const HashedLevel& a, std::string_view b) const noexcept { return a.text == b; }
    bool operator()(std::string_view a, const HashedLevel& b) const noexcept { return a == b.text; }
};

class TopicPath {
  public:
    explicit TopicPath(std::string_view topic) : dollar_(!topic.empty() && topic.front() == '$') {
        // A byte loop: levels are short, and a memchr call per level cost more than the scan.
        const char* p = topic.data();
        size_t start = 0;
        for (size_t i = 0; i < topic.size(); ++i) {
            if (p[i] == '/') {
                add(std::string_view(p + start, i - start));
                start = i + 1;
            }
        }
        add(std::string_view(p + start, topic.size() - start));  // "a/" ends with an empty level, "" is one
    }
    TopicPath(const TopicPath&) = delete;
    TopicPath& operator=(const TopicPath&) = delete;

    // At least 1: "" is one empty level.
    size_t size() const { return size_; }

    // Level `i` with its hash, computed on first use: a walk that stops early hashes no deeper level.
    const HashedLevel& level(size_t i) const {
        const HashedLevel& l = size_ <= kInline ? inline_[i] : more_[i];
        if (l.hash == 0) l.hash = LevelHash{}(l.text);  // a text hashing to 0 is only hashed again
        return l;
    }

    // A leading `+` or `#` never matches a topic starting with `$` [MQTT-4.7.2-1].
    bool dollar() const { return dollar_; }

  private:
    void add(std::string_view level) {
        if (size_ < kInline) [[likely]] {
            inline_[size_].text = level;
        } else {
            addMore(level);
        }
        ++size_;
    }
    void addMore(std::string_view level) {
        if (size_ == kInline) more_.assign(inline_, inline_ + kInline);
        more_.push_back(HashedLevel{level});
    }

    static constexpr size_t kInline = 8;
    HashedLevel inline_[kInline];
    std::vector<HashedLevel> more_;  // all levels, when there are more than kInline
    size_t size_ = 0;
    bool dollar_;
};

}  // namespace starling::broker
