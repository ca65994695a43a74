#pragma once
// Retained messages, one per topic [MQTT-3.3.1-5]; an empty payload deletes [MQTT-3.3.1-10]. Shared by
// every worker: the mutex is taken once per retained PUBLISH and once per SUBSCRIBE, never per delivery.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/filter_trie.hpp"
#include "broker/message.hpp"

namespace starling::broker {

class RetainedStore {
  public:
    // Stores `m` under its topic, or deletes the topic's message when the payload is empty.
    void set(const MessagePtr& m);
    // Appends every retained message whose topic matches `filter` (a valid, non-shared filter).
    void match(std::string_view filter, std::vector<MessagePtr>& out) const;
    void forEach(const std::function<void(const MessagePtr&)>& fn) const;

    size_t count() const;
    uint64_t bytes() const;

    // One page of the retained messages whose topic starts with `prefix` (plain text, not a filter: "a/b"
    // finds "a/b", "a/b/c" and "a/bc"), in byte order of topic, after the topic `after` ("": from the
    // first). `total` counts every message under the prefix, `remaining` those after `after` (this page's
    // included). For the admin API, any thread: it visits the messages under the prefix with the lock held
    // but copies only `limit` of them.
    struct Page {
        std::vector<MessagePtr> messages;
        size_t total = 0;
        size_t remaining = 0;
    };
    Page browse(std::string_view prefix, std::string_view after, size_t limit) const;

  private:
    struct Node {
        std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>> children;
        Node* parent = nullptr;
        std::string level;
        MessagePtr message;
    };
    void collect(const Node* n, std::string_view filter_rest, bool first, std::vector<MessagePtr>& out) const;
    static void collectAll(const Node* n, bool skip_dollar, std::vector<MessagePtr>& out);

    mutable std::mutex mu_;
    Node root_;
    size_t count_ = 0;
    uint64_t bytes_ = 0;
};

}  // namespace starling::broker
