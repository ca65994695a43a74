#pragma once
// A trie of topic filters, one level per node, each node holding a value `V` for the filter that ends
// there. `match(topic)` visits the value of every filter matching a topic name, applying `+`, `#` and the
// rule that a leading wildcard never matches a `$` topic [MQTT-4.7.2-1]. Owned by one thread.
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "protocol/topic.hpp"

namespace starling::broker {

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <class V>
class FilterTrie {
  public:
    struct Node {
        std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>> children;
        Node* parent = nullptr;
        std::string level;
        V value{};
        bool has_value = false;
    };

    // The value slot for `filter`, created empty when missing.
    V& at(std::string_view filter) {
        Node* n = &root_;
        protocol::TopicLevels levels(filter);
        while (auto level = levels.next()) {
            auto it = n->children.find(*level);
            if (it == n->children.end()) {
                auto child = std::make_unique<Node>();
                child->parent = n;
                child->level = std::string(*level);
                it = n->children.emplace(child->level, std::move(child)).first;
            }
            n = it->second.get();
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
        while (n != &root_ && !n->has_value && n->children.empty()) {
            Node* parent = n->parent;
            parent->children.erase(n->level);
            n = parent;
        }
    }

    size_t size() const { return size_; }

    // Calls fn(V&) for each filter matching `topic`.
    template <class Fn>
    void match(std::string_view topic, Fn&& fn) {
        bool dollar = !topic.empty() && topic.front() == '$';
        matchFrom(&root_, topic, true, dollar, fn);
    }

    // Calls fn(filter, V&) for every stored filter.
    template <class Fn>
    void forEach(Fn&& fn) {
        std::string path;
        forEachFrom(&root_, path, true, fn);
    }

  private:
    Node* findNode(std::string_view filter) {
        Node* n = &root_;
        protocol::TopicLevels levels(filter);
        while (auto level = levels.next()) {
            auto it = n->children.find(*level);
            if (it == n->children.end()) return nullptr;
            n = it->second.get();
        }
        return n;
    }

    // `rest` is the part of the topic below node `n`, `at_end` when the topic has no more levels.
    template <class Fn>
    void matchFrom(Node* n, std::string_view rest, bool first, bool dollar, Fn& fn) {
        // `#` matches the parent level too ("a/#" matches "a") [MQTT-4.7.1-2].
        if (!(first && dollar)) {
            auto hash = n->children.find(std::string_view("#"));
            if (hash != n->children.end() && hash->second->has_value) fn(hash->second->value);
        }
        auto slash = rest.find('/');
        std::string_view level = rest.substr(0, slash);
        bool last = slash == std::string_view::npos;
        std::string_view below = last ? std::string_view() : rest.substr(slash + 1);

        auto visit = [&](Node* child) {
            if (last) {
                if (child->has_value) fn(child->value);
                // "a/b/#" also matches "a/b".
                auto hash = child->children.find(std::string_view("#"));
                if (hash != child->children.end() && hash->second->has_value) fn(hash->second->value);
            } else {
                matchFrom(child, below, false, dollar, fn);
            }
        };
        auto exact = n->children.find(level);
        if (exact != n->children.end()) visit(exact->second.get());
        if (!(first && dollar)) {
            auto plus = n->children.find(std::string_view("+"));
            if (plus != n->children.end()) visit(plus->second.get());
        }
    }

    template <class Fn>
    void forEachFrom(Node* n, std::string& path, bool root, Fn& fn) {
        for (auto& [level, child] : n->children) {
            size_t len = path.size();
            if (!root) path += '/';
            path += level;
            if (child->has_value) fn(std::string_view(path), child->value);
            forEachFrom(child.get(), path, false, fn);
            path.resize(len);
        }
    }

    Node root_;
    size_t size_ = 0;
};

}  // namespace starling::broker
