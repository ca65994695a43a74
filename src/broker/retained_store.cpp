#include "broker/retained_store.hpp"

#include <algorithm>
#include <queue>
#include <unordered_set>

#include "broker/clock.hpp"
#include "protocol/topic.hpp"

namespace starling::broker {

namespace {

// The part of a filter before its first wildcard level, as a prefix of text for the store's scan. "a/#" also
// matches "a", so its prefix is "a" (which finds "ab" too: the filter itself sorts those out).
std::string_view literalPrefix(std::string_view filter) {
    size_t start = 0;
    for (;;) {
        size_t slash = filter.find('/', start);
        std::string_view level = filter.substr(start, slash == std::string_view::npos ? slash : slash - start);
        if (level == "#") return filter.substr(0, start ? start - 1 : 0);
        if (level == "+") return filter.substr(0, start);
        if (slash == std::string_view::npos) return filter;
        start = slash + 1;
    }
}

bool hasWildcard(std::string_view filter) {
    return filter.find_first_of("+#") != std::string_view::npos;
}

}  // namespace

bool RetainedStore::persists(std::string_view topic) {
    return !topic.starts_with("$SYS/");
}

void RetainedStore::attachDisk(std::unique_ptr<RetainedDisk> disk, uint64_t budget) {
    std::lock_guard lock(mu_);
    disk_ = std::move(disk);
    budget_ = budget;
}

RetainedStore::Node* RetainedStore::find(std::string_view topic) const {
    const Node* n = &root_;
    protocol::TopicLevels levels(topic);
    while (auto level = levels.next()) {
        auto it = n->children.find(*level);
        if (it == n->children.end()) return nullptr;
        n = it->second.get();
    }
    return const_cast<Node*>(n);
}

RetainedStore::Node* RetainedStore::make(std::string_view topic) {
    Node* n = &root_;
    protocol::TopicLevels levels(topic);
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
    return n;
}

void RetainedStore::drop(Node* n) {
    if (n->evictable()) lruUnlink(n);
    bytes_ -= n->message->size();
    --resident_;
}

void RetainedStore::forget(Node* n) {
    n->message.reset();
    n->state = State::kNone;
    n->written = false;
    while (n != &root_ && n->state == State::kNone && n->pending == 0 && n->children.empty()) {
        Node* parent = n->parent;
        parent->children.erase(n->level);
        n = parent;
    }
}

void RetainedStore::lruPush(Node* n) {
    n->lru_prev = lru_tail_;
    n->lru_next = nullptr;
    (lru_tail_ ? lru_tail_->lru_next : lru_head_) = n;
    lru_tail_ = n;
}

void RetainedStore::lruUnlink(Node* n) {
    (n->lru_prev ? n->lru_prev->lru_next : lru_head_) = n->lru_next;
    (n->lru_next ? n->lru_next->lru_prev : lru_tail_) = n->lru_prev;
    n->lru_prev = n->lru_next = nullptr;
}

void RetainedStore::trim() {
    if (!budget_) return;
    while (lru_head_ && bytes_ + resident_ * kEntryOverhead > budget_) {
        Node* n = lru_head_;
        drop(n);
        ++disk_only_;
        forget(n);
    }
}

bool RetainedStore::set(const MessagePtr& m) {
    std::lock_guard lock(mu_);
    // A topic the store holds: the caller writes its record and reports it with stored().
    const bool on_disk = disk_ && persists(m->topic());
    Node* n = find(m->topic());
    if (m->payload().empty()) {
        if (n && n->holds()) {
            drop(n);
            --count_;
        } else if (n && n->state == State::kDeleted) {
            // Deleted already: this deletion is written too.
        } else if (on_disk && disk_only_ && disk_->contains(m->topic())) {
            if (!n) n = make(m->topic());
            --disk_only_;
            --count_;
        } else {
            // Nothing to delete: no node, so no record of the topic on its way either, and none on disk.
            return false;
        }
        if (!on_disk) {
            forget(n);
            return false;
        }
        // Until the deletion is written, the store may still have a record: hide it.
        n->message = m;
        n->state = State::kDeleted;
        n->written = false;
        ++n->pending;
        return true;
    }
    if (!n) n = make(m->topic());
    if (n->holds()) {
        drop(n);
    } else if (n->state == State::kDeleted) {
        ++count_;
    } else if (on_disk && disk_only_ && disk_->contains(m->topic())) {
        --disk_only_;  // replaces the message on disk
    } else {
        ++count_;
    }
    n->message = m;
    n->state = State::kMessage;
    n->written = false;
    ++resident_;
    bytes_ += m->size();
    if (on_disk) ++n->pending;
    return on_disk;
}

std::vector<MessagePtr> RetainedStore::stored(const std::vector<MessagePtr>& written) {
    std::vector<MessagePtr> again;
    std::lock_guard lock(mu_);
    if (!disk_) return again;
    // Last to first: a batch applies its records in order, so of one topic's records in this batch only the last
    // counts; the earlier ones only leave the pending count.
    std::unordered_set<const Node*> seen;
    for (auto it = written.rbegin(); it != written.rend(); ++it) {
        const MessagePtr& m = *it;
        Node* n = find(m->topic());
        if (!n || !n->pending) continue;  // cannot happen: every reported record was counted by set()
        --n->pending;
        if (written.size() > 1 && !seen.insert(n).second) continue;
        if (n->message == m) {
            if (n->reordered) {
                // An older record of the topic was reported before this one: it may have been committed after
                // it. Write this one again, after both.
                n->reordered = false;
                again.push_back(m);
                ++n->pending;
            } else {
                n->written = true;
            }
        } else if (n->written) {
            // The topic's current state was written and reported before this older record: write it again.
            again.push_back(n->message);
            n->written = false;
            ++n->pending;
        } else {
            // The current state's record is still to be reported; whichever committed last, it is written again
            // once it is.
            n->reordered = true;
        }
        if (n->pending || !n->written) continue;
        if (n->holds()) {
            lruPush(n);
        } else {
            forget(n);  // deleted, and the store knows
        }
    }
    trim();
    return again;
}

void RetainedStore::restore(const MessagePtr& m) {
    std::lock_guard lock(mu_);
    ++count_;
    if (disk_ && budget_ && bytes_ + m->size() + (resident_ + 1) * kEntryOverhead > budget_) {
        ++disk_only_;
        return;
    }
    Node* n = make(m->topic());
    n->message = m;
    n->state = State::kMessage;
    n->written = disk_ != nullptr;
    ++resident_;
    bytes_ += m->size();
    if (n->evictable()) lruPush(n);
}

void RetainedStore::take(Node* n, Snapshot& out) {
    if (n->holds()) {
        out.messages.push_back(n->message);
        if (n->evictable()) {  // recently used: evicted last
            lruUnlink(n);
            lruPush(n);
        }
    } else if (n->state == State::kDeleted) {
        out.deleted.push_back(n->message);
    }
}

void RetainedStore::match(std::string_view filter, const std::function<void(const MessagePtr&)>& fn) {
    Snapshot snap;
    {
        std::lock_guard lock(mu_);
        collect(&root_, filter, true, snap);
        snap.disk = disk_only_ > 0;
    }
    for (auto& m : snap.messages)
        fn(m);
    if (!snap.disk) return;
    if (!hasWildcard(filter)) {
        if (!snap.messages.empty() || !snap.deleted.empty()) return;
        if (auto m = disk_->get(filter); m && !m->expired(systemNowMs())) fn(m);
        return;
    }
    // Memory answers for the topics it has; the store for the others.
    std::unordered_set<std::string_view> known;
    for (auto* list : {&snap.messages, &snap.deleted})
        for (auto& m : *list)
            known.insert(m->topic());
    const uint64_t now = systemNowMs();
    disk_->scan(literalPrefix(filter), [&](std::string_view topic, std::string_view value) {
        if (!protocol::topicMatches(filter, topic) || known.count(topic)) return true;
        if (auto m = disk_->decode(value); m && !m->expired(now)) fn(m);
        return true;
    });
}

void RetainedStore::match(std::string_view filter, std::vector<MessagePtr>& out) {
    match(filter, [&](const MessagePtr& m) { out.push_back(m); });
}

void RetainedStore::collect(Node* n, std::string_view rest, bool first, Snapshot& out) {
    auto slash = rest.find('/');
    std::string_view level = rest.substr(0, slash);
    bool last = slash == std::string_view::npos;
    std::string_view below = last ? std::string_view() : rest.substr(slash + 1);

    if (level == "#") {
        // Everything below, and the parent itself ("a/#" matches "a") [MQTT-4.7.1-2]; a leading
        // wildcard never matches `$` topics [MQTT-4.7.2-1].
        if (!first) take(n, out);
        collectAll(n, first, out);
        return;
    }
    auto visit = [&](Node* child) {
        if (last) {
            take(child, out);
        } else {
            collect(child, below, false, out);
        }
    };
    if (level == "+") {
        for (auto& [name, child] : n->children) {
            if (first && !name.empty() && name.front() == '$') continue;
            visit(child.get());
        }
        return;
    }
    auto it = n->children.find(level);
    if (it != n->children.end()) visit(it->second.get());
}

void RetainedStore::collectAll(Node* n, bool skip_dollar, Snapshot& out) {
    for (auto& [name, child] : n->children) {
        if (skip_dollar && !name.empty() && name.front() == '$') continue;
        take(child.get(), out);
        collectAll(child.get(), false, out);
    }
}

RetainedStore::Page RetainedStore::browse(std::string_view prefix, std::string_view after, size_t limit) const {
    auto topic_less = [](const MessagePtr& a, const MessagePtr& b) { return a->topic() < b->topic(); };
    // The `limit` smallest topics after `after`, largest on top so it is the one to give up.
    std::priority_queue<MessagePtr, std::vector<MessagePtr>, decltype(topic_less)> best(topic_less);
    Page page;
    // Whether a message of `topic` after `after` makes this page (counted either way).
    auto wanted = [&](std::string_view topic) {
        ++page.total;
        if (topic <= after) return false;
        ++page.remaining;
        return limit != 0 && (best.size() < limit || topic < best.top()->topic());
    };
    auto keep = [&](MessagePtr m) {
        if (best.size() == limit) best.pop();
        best.push(std::move(m));
    };
    // With messages on disk only: every topic memory answers for (messages, deletions not yet written), not only
    // this page's, so that the store's records of them are not counted again.
    std::vector<MessagePtr> answered;
    bool disk = false;
    std::function<void(const Node*)> walk = [&](const Node* n) {
        if (n->holds() && wanted(n->message->topic())) keep(n->message);
        if (disk && n->state != State::kNone) answered.push_back(n->message);
        for (auto& [name, child] : n->children)
            walk(child.get());
    };
    std::unordered_set<std::string_view> known;
    {
        std::lock_guard lock(mu_);
        disk = disk_only_ > 0;
        // The prefix's whole levels lead to one node; its last, partial level picks among that node's children.
        const Node* n = &root_;
        std::string_view rest = prefix;
        bool found = true;
        for (size_t slash; (slash = rest.find('/')) != std::string_view::npos; rest.remove_prefix(slash + 1)) {
            auto it = n->children.find(rest.substr(0, slash));
            if (it == n->children.end()) {
                found = false;
                break;
            }
            n = it->second.get();
        }
        if (found) {
            for (auto& [name, child] : n->children)
                if (std::string_view(name).substr(0, rest.size()) == rest) walk(child.get());
        }
    }
    if (disk) {
        for (auto& m : answered)
            known.insert(m->topic());
        disk_->scan(prefix, [&](std::string_view topic, std::string_view value) {
            if (known.count(topic) || !wanted(topic)) return true;
            if (auto m = disk_->decode(value)) keep(std::move(m));
            return true;
        });
    }
    page.messages.reserve(best.size());
    for (; !best.empty(); best.pop())
        page.messages.push_back(best.top());
    std::reverse(page.messages.begin(), page.messages.end());
    return page;
}

size_t RetainedStore::count() const {
    std::lock_guard lock(mu_);
    return count_;
}

uint64_t RetainedStore::bytes() const {
    std::lock_guard lock(mu_);
    return bytes_;
}

size_t RetainedStore::diskOnlyCount() const {
    std::lock_guard lock(mu_);
    return disk_only_;
}

}  // namespace starling::broker
