#include "broker/retained_store.hpp"

#include <algorithm>
#include <queue>

#include "protocol/topic.hpp"

namespace starling::broker {

void RetainedStore::set(const MessagePtr& m) {
    std::lock_guard lock(mu_);
    Node* n = &root_;
    protocol::TopicLevels levels(m->topic());
    if (m->payload().empty()) {
        while (auto level = levels.next()) {
            auto it = n->children.find(*level);
            if (it == n->children.end()) return;
            n = it->second.get();
        }
        if (!n->message) return;
        bytes_ -= n->message->size();
        --count_;
        n->message.reset();
        while (n != &root_ && !n->message && n->children.empty()) {
            Node* parent = n->parent;
            parent->children.erase(n->level);
            n = parent;
        }
        return;
    }
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
    if (n->message) {
        bytes_ -= n->message->size();
    } else {
        ++count_;
    }
    bytes_ += m->size();
    n->message = m;
}

void RetainedStore::match(std::string_view filter, std::vector<MessagePtr>& out) const {
    std::lock_guard lock(mu_);
    collect(&root_, filter, true, out);
}

void RetainedStore::collect(const Node* n, std::string_view rest, bool first, std::vector<MessagePtr>& out) const {
    auto slash = rest.find('/');
    std::string_view level = rest.substr(0, slash);
    bool last = slash == std::string_view::npos;
    std::string_view below = last ? std::string_view() : rest.substr(slash + 1);

    if (level == "#") {
        // Everything below, and the parent itself ("a/#" matches "a") [MQTT-4.7.1-2]; a leading
        // wildcard never matches `$` topics [MQTT-4.7.2-1].
        if (!first && n->message) out.push_back(n->message);
        collectAll(n, first, out);
        return;
    }
    auto visit = [&](const Node* child) {
        if (last) {
            if (child->message) out.push_back(child->message);
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

void RetainedStore::collectAll(const Node* n, bool skip_dollar, std::vector<MessagePtr>& out) {
    for (auto& [name, child] : n->children) {
        if (skip_dollar && !name.empty() && name.front() == '$') continue;
        if (child->message) out.push_back(child->message);
        collectAll(child.get(), false, out);
    }
}

void RetainedStore::forEach(const std::function<void(const MessagePtr&)>& fn) const {
    std::vector<MessagePtr> all;
    {
        std::lock_guard lock(mu_);
        collectAll(&root_, false, all);
    }
    for (auto& m : all)
        fn(m);
}

RetainedStore::Page RetainedStore::browse(std::string_view prefix, std::string_view after, size_t limit) const {
    auto topic_less = [](const MessagePtr& a, const MessagePtr& b) { return a->topic() < b->topic(); };
    // The `limit` smallest topics after `after`, largest on top so it is the one to give up.
    std::priority_queue<MessagePtr, std::vector<MessagePtr>, decltype(topic_less)> best(topic_less);
    Page page;
    auto consider = [&](const MessagePtr& m) {
        ++page.total;
        if (m->topic() <= after) return;
        ++page.remaining;
        if (limit == 0) return;
        if (best.size() < limit) {
            best.push(m);
        } else if (m->topic() < best.top()->topic()) {
            best.pop();
            best.push(m);
        }
    };
    std::function<void(const Node*)> walk = [&](const Node* n) {
        if (n->message) consider(n->message);
        for (auto& [name, child] : n->children)
            walk(child.get());
    };
    {
        std::lock_guard lock(mu_);
        // The prefix's whole levels lead to one node; its last, partial level picks among that node's children.
        const Node* n = &root_;
        std::string_view rest = prefix;
        for (size_t slash; (slash = rest.find('/')) != std::string_view::npos; rest.remove_prefix(slash + 1)) {
            auto it = n->children.find(rest.substr(0, slash));
            if (it == n->children.end()) return page;
            n = it->second.get();
        }
        for (auto& [name, child] : n->children)
            if (std::string_view(name).substr(0, rest.size()) == rest) walk(child.get());
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

}  // namespace starling::broker
