#pragma once
// A trie of topic filters, one level per node, each node holding a value `V` for the filter that ends
// there. `match(topic)` visits the value of every filter matching a topic name, applying `+`, `#` and the
// rule that a leading wildcard never matches a `$` topic [MQTT-4.7.2-1]. Owned by one thread.
//
// Matching runs for every PUBLISH (issue 9), so a node keeps its `+` and `#` children apart from the
// others: at each level a match looks up only the topic's own level, with the hash its TopicPath carries.
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "broker/topic_path.hpp"
#include "protocol/topic.hpp"

namespace starling::broker {

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <class V>
class FilterTrie {
  public:
    // The value slot for `filter`, created empty when missing.
    V& at(std::string_view filter) {
        Node* n = &root_;
        protocol::TopicLevels levels(filter);
        while (auto level = levels.next()) {
            std::unique_ptr<Node>* slot = n->slot(*level);
            if (!slot) slot = &n->children[std::string(*level)];
            if (!*slot) {
                *slot = std::make_unique<Node>();
                (*slot)->parent = n;
                (*slot)->level = std::string(*level);
            }
            n = slot->get();
        }
        if (!n->has_value) {
            n->has_value = true;
            ++size_;
        }
        return n->value;
    }

    // The value for `filter`, or nullptr.
    V* find(std::string_view filter) {
        Node* n = findNode(filter);
        return n && n->has_value ? &n->value : nullptr;
    }

    // Removes the value for `filter` and prunes empty nodes.
    void erase(std::string_view filter) {
        Node* n = findNode(filter);
        if (!n || !n->has_value) return;
        n->value = V{};
        n->has_value = false;
        --size_;
        while (n != &root_ && !n->has_value && n->leaf()) {
            Node* parent = n->parent;
            if (n->level == "+") {
                parent->plus.reset();
            } else if (n->level == "#") {
                parent->multi.reset();
            } else {
                parent->children.erase(n->level);
            }
            n = parent;
        }
    }

    // Number of filters stored.
    size_t size() const { return size_; }

    // Calls fn(V&) for each filter matching `topic`.
    template <class Fn>
    void match(const TopicPath& topic, Fn&& fn) {
        if (size_ == 0) return;  // e.g. the shared routes while nobody has a shared subscription
        matchFrom(&root_, topic, 0, fn);
    }
    template <class Fn>
    void match(std::string_view topic, Fn&& fn) {
        if (size_ == 0) return;
        TopicPath path(topic);
        matchFrom(&root_, path, 0, fn);
    }

    // Calls fn(filter, V&) for every stored filter.
    template <class Fn>
    void forEach(Fn&& fn) {
        std::string path;
        forEachFrom(&root_, path, true, fn);
    }

  private:
    struct Node {
        // Children by level, except `+` and `#`, which have their own slots.
        std::unordered_map<std::string, std::unique_ptr<Node>, LevelHash, LevelEqual> children;
        std::unique_ptr<Node> plus;   // "+"
        std::unique_ptr<Node> multi;  // "#"
        Node* parent = nullptr;
        std::string level;
        V value{};
        bool has_value = false;

        bool leaf() const { return children.empty() && !plus && !multi; }
        // The slot of a wildcard level, or of another level when present; null for a missing one.
        std::unique_ptr<Node>* slot(std::string_view level) {
            if (level == "+") return &plus;
            if (level == "#") return &multi;
            auto it = children.find(level);
            return it == children.end() ? nullptr : &it->second;
        }
        // The child for a topic level (never a wildcard: topic names have none [MQTT-4.7.3-1]).
        Node* exact(const TopicPath& topic, size_t i) {
            if (children.empty()) return nullptr;  // no hashing for a node with wildcard children only
            auto it = children.find(topic.level(i));
            return it == children.end() ? nullptr : it->second.get();
        }
    };

    Node* findNode(std::string_view filter) {
        Node* n = &root_;
        protocol::TopicLevels levels(filter);
        while (auto level = levels.next()) {
            std::unique_ptr<Node>* slot = n->slot(*level);
            if (!slot || !*slot) return nullptr;
            n = slot->get();
        }
        return n;
    }

    // Matches topic levels `i`.. below node `n`.
    template <class Fn>
    void matchFrom(Node* n, const TopicPath& topic, size_t i, Fn& fn) {
        const bool wildcards = i > 0 || !topic.dollar();  // [MQTT-4.7.2-1]
        // `#` matches the parent level too ("a/#" matches "a") [MQTT-4.7.1-2].
        if (wildcards && n->multi && n->multi->has_value) fn(n->multi->value);
        const bool last = i + 1 == topic.size();
        auto visit = [&](Node* child) {
            if (last) {
                if (child->has_value) fn(child->value);
                // "a/b/#" also matches "a/b".
                if (child->multi && child->multi->has_value) fn(child->multi->value);
            } else {
                matchFrom(child, topic, i + 1, fn);
            }
        };
        if (Node* exact = n->exact(topic, i)) visit(exact);
        if (wildcards && n->plus) visit(n->plus.get());
    }

    template <class Fn>
    void forEachFrom(Node* n, std::string& path, bool root, Fn& fn) {
        auto each = [&](const std::string& level, Node* child) {
            size_t len = path.size();
            if (!root) path += '/';
            path += level;
            if (child->has_value) fn(std::string_view(path), child->value);
            forEachFrom(child, path, false, fn);
            path.resize(len);
        };
        for (auto& [level, child] : n->children)
            each(level, child.get());
        if (n->plus) each(n->plus->level, n->plus.get());
        if (n->multi) each(n->multi->level, n->multi.get());
    }

    Node root_;
    size_t size_ = 0;
};

}  // namespace starling::broker
