#pragma once
// Retained messages, one per topic [MQTT-3.3.1-5]; an empty payload deletes [MQTT-3.3.1-10]. Shared by
// every worker: the mutex is taken once per retained PUBLISH and once per SUBSCRIBE, never per delivery.
//
// With persistence, memory holds at most a budget of them (persistence_retained_memory); the rest live only
// in the embedded store (RetainedDisk) and are read from it when a subscription or the admin API asks. The
// rules that keep the two consistent:
//   - memory overrides the store: a topic with an entry in memory (a message, or a deletion not yet written)
//     is answered from memory; a topic without one is answered by the store;
//   - an entry leaves memory only once the store holds it: the worker that wrote the record reports the
//     committed message (stored()); once no record of the topic is waiting in any worker's batch and the
//     store has its current state, the message may be evicted (least recently used first), or, for a
//     deletion, forgotten;
//   - two workers' batches may commit records of one topic in the other order than they were set: when an
//     older record lands after the current one, stored() asks for the current one to be written again.
//   - $SYS messages are never written, so never evicted.
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

// The retained messages on disk (R records of the embedded store); persistence.cpp implements it.
class RetainedDisk {
  public:
    virtual ~RetainedDisk() = default;
    // Whether `topic` has a stored message.
    virtual bool contains(std::string_view topic) const = 0;
    // The stored message of `topic`, null when there is none or it cannot be read.
    virtual MessagePtr get(std::string_view topic) const = 0;
    // Every stored record whose topic starts with `prefix`, in byte order of topic: `fn(topic, value)` returns
    // false to stop. `value` decodes with decode().
    virtual void scan(std::string_view prefix,
                      const std::function<bool(std::string_view topic, std::string_view value)>& fn) const = 0;
    virtual MessagePtr decode(std::string_view value) const = 0;
};

class RetainedStore {
  public:
    // Bytes counted per message held in memory on top of its topic, properties and payload: the message
    // header and its node of the topic tree (measured: RSS per retained message minus its bytes).
    static constexpr uint64_t kEntryOverhead = 320;

    // From now on, keeps at most `budget` bytes of messages in memory (0: no limit) and reads the others
    // from `disk`. Before any message is stored or restored.
    void attachDisk(std::unique_ptr<RetainedDisk> disk, uint64_t budget);

    // Stores `m` under its topic, or deletes the topic's message when the payload is empty. True when the
    // caller must write its record to the store and report it with stored() (or failed()).
    [[nodiscard]] bool set(const MessagePtr& m);
    // After a worker's write batch with these messages' records reached the store (those set() said to write,
    // in batch order; a batch that cannot be written stops the broker, see Shard::commitOrStop). Returns the messages
    // whose records that worker must write again (an older record may have landed after theirs).
    [[nodiscard]] std::vector<MessagePtr> stored(const std::vector<MessagePtr>& written);
    // Recovery: a message read from the store, kept in memory while the budget allows.
    void restore(const MessagePtr& m);

    // Every retained message whose topic matches `filter` (a valid, non-shared filter), in no given order;
    // `fn` runs without the lock held. Messages on disk are read one by one as they are handed to `fn`.
    // Touches what it finds in memory (least recently used is evicted first).
    void match(std::string_view filter, const std::function<void(const MessagePtr&)>& fn);
    void match(std::string_view filter, std::vector<MessagePtr>& out);

    // Whether a retained message of `topic` is written to the store ($SYS messages are not).
    static bool persists(std::string_view topic);

    size_t count() const;          // all retained messages, on disk only or not
    uint64_t bytes() const;        // topic, properties and payload of those held in memory
    size_t diskOnlyCount() const;  // those on disk only

    // One page of the retained messages whose topic starts with `prefix` (plain text, not a filter: "a/b"
    // finds "a/b", "a/b/c" and "a/bc"), in byte order of topic, after the topic `after` ("": from the
    // first). `total` counts every message under the prefix, `remaining` those after `after` (this page's
    // included). For the admin API, any thread: it visits the messages under the prefix with the lock held
    // but copies only `limit` of them (all of them while some messages are on disk only: those topics must not
    // be counted twice); those on disk are read after, without the lock.
    struct Page {
        std::vector<MessagePtr> messages;
        size_t total = 0;
        size_t remaining = 0;
    };
    Page browse(std::string_view prefix, std::string_view after, size_t limit) const;

  private:
    enum class State : uint8_t {
        kNone,     // no message of this topic in memory (a level on the way to others)
        kMessage,  // a message
        kDeleted,  // deleted, the deletion perhaps not yet in the store: hides the store's record
    };
    struct Node {
        std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>> children;
        Node* parent = nullptr;
        std::string level;
        MessagePtr message;  // kMessage: the message; kDeleted: the empty message that deleted it
        Node* lru_prev = nullptr;
        Node* lru_next = nullptr;
        uint32_t pending = 0;  // records of this topic in workers' batches, not yet reported stored()
        State state = State::kNone;
        bool written = false;    // the store has this state (the message, or that there is none)
        bool reordered = false;  // an older record was reported while this state's record was on its way
        bool holds() const { return state == State::kMessage; }
        // On the LRU list: a message the store has, with no other record of its topic on the way.
        bool evictable() const { return state == State::kMessage && written && pending == 0; }
    };
    // What memory says about a filter or prefix: messages to hand out, and the topics it answers for
    // (messages and deletions), which the store's records do not override.
    struct Snapshot {
        std::vector<MessagePtr> messages;
        std::vector<MessagePtr> deleted;
        bool disk = false;  // some messages are on disk only: ask the store too
    };

    Node* find(std::string_view topic) const;
    Node* make(std::string_view topic);
    void forget(Node* n);  // drops the entry and prunes levels left empty
    void drop(Node* n);    // accounting of a message leaving memory
    void lruPush(Node* n);
    void lruUnlink(Node* n);
    void trim();
    void collect(Node* n, std::string_view filter_rest, bool first, Snapshot& out);
    void collectAll(Node* n, bool skip_dollar, Snapshot& out);
    void take(Node* n, Snapshot& out);

    mutable std::mutex mu_;
    Node root_;
    size_t count_ = 0;          // in memory and on disk only
    size_t resident_ = 0;       // messages in memory
    size_t disk_only_ = 0;      // messages on disk only
    uint64_t bytes_ = 0;        // of the messages in memory
    Node* lru_head_ = nullptr;  // least recently used clean entry
    Node* lru_tail_ = nullptr;
    std::unique_ptr<RetainedDisk> disk_;
    uint64_t budget_ = 0;
};

}  // namespace starling::broker
