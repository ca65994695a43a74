// The admin API's questions to one worker and its actions (see inspect.hpp). Each list is one pass over the
// worker's sessions that keeps only the page it returns, so a page costs O(sessions) time and O(limit) memory
// however many clients there are.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/clock.hpp"
#include "broker/shard.hpp"

namespace starling::broker {

namespace {

unsigned protocolNumber(protocol::ProtocolVersion v) {
    return static_cast<unsigned>(v);
}

const std::string& idOf(const ClientInfo& c) {
    return c.client_id;
}
const std::string& idOf(const Session& s) {
    return s.clientId();
}

// Keeps the `limit` first items of `order` seen so far: a bounded heap whose top is the last kept one.
template <typename T, typename Less>
class TopK {
  public:
    TopK(size_t limit, Less less) : limit_(limit), less_(less) {}
    // True when `candidate` would be kept (callers skip building an item that would not).
    template <typename Key>
    bool wants(const Key& key) const {
        return items_.size() < limit_ || less_(key, items_.front());
    }
    void add(T item) {
        if (limit_ == 0) return;
        if (items_.size() < limit_) {
            items_.push_back(std::move(item));
            std::push_heap(items_.begin(), items_.end(), less_);
        } else if (less_(item, items_.front())) {
            std::pop_heap(items_.begin(), items_.end(), less_);
            items_.back() = std::move(item);
            std::push_heap(items_.begin(), items_.end(), less_);
        }
    }
    std::vector<T> take() {
        std::sort_heap(items_.begin(), items_.end(), less_);
        return std::move(items_);
    }

  private:
    size_t limit_;
    Less less_;
    std::vector<T> items_;
};

}  // namespace

Page<ClientInfo> Shard::listClients(const ClientQuery& q) const {
    auto describe = [&](const Session& s) {
        ClientInfo c;
        c.client_id = s.clientId();
        c.username = s.grants.username;
        c.worker = index_;
        c.connected = s.link != nullptr;
        c.persistent = s.persistent;
        c.protocol = protocolNumber(s.version);
        c.connected_at_ms = s.connected_at_ms;
        c.disconnected_at_ms = s.link ? 0 : s.disconnected_at_ms;
        c.last_disconnect = s.last_close == CloseReason::kNone ? "" : closeReasonText(s.last_close);
        c.expires_at_ms = s.expires_at_ms;
        c.subscriptions = s.subscriptions.size();
        c.queued = s.queue.size();
        c.inflight = s.inflight.size();
        c.queued_bytes = s.queued_bytes;
        if (const ClientLink* l = s.link) {
            c.address = l->remoteAddress();
            c.listener_port = l->listener_port;
            c.tls = l->tls;
            c.keep_alive = l->keep_alive;
            c.output_bytes = l->pendingOutputBytes();
        }
        return c;
    };
    auto matches = [&](const Session& s) {
        if (q.state == ClientQuery::State::kConnected && !s.link) return false;
        if (q.state == ClientQuery::State::kOffline && s.link) return false;
        return s.clientId().starts_with(q.prefix);
    };

    Page<ClientInfo> page;
    if (q.order == ClientQuery::Order::kClientId) {
        auto less = [](const auto& a, const auto& b) { return idOf(a) < idOf(b); };
        TopK<ClientInfo, decltype(less)> top(q.limit, less);
        for (const auto& [id, s] : sessions_) {
            if (!matches(*s)) continue;
            ++page.total;  // every match, not only those after the cursor
            if (!q.after.empty() && id <= q.after) continue;
            if (top.wants(*s)) top.add(describe(*s));
        }
        page.items = top.take();
    } else {
        auto before = [&q](const ClientInfo& a, const ClientInfo& b) { return comesBefore(q.order, a, b); };
        TopK<ClientInfo, decltype(before)> top(q.limit, before);
        for (const auto& [id, s] : sessions_) {
            if (!matches(*s)) continue;
            ++page.total;
            top.add(describe(*s));
        }
        page.items = top.take();
    }
    return page;
}

Page<SubscriptionInfo> Shard::listSubscriptions(const SubscriptionQuery& q) const {
    auto before = [](const SubscriptionInfo& a, const SubscriptionInfo& b) { return comesBefore(a, b); };
    TopK<SubscriptionInfo, decltype(before)> top(q.limit, before);
    Page<SubscriptionInfo> page;
    const bool paged = !q.after_client.empty() || !q.after_filter.empty();
    auto visit = [&](const Session& s) {
        for (const auto& [filter, e] : s.subscriptions) {
            if (!filter.starts_with(q.filter_prefix)) continue;
            ++page.total;
            if (paged && std::tie(s.clientId(), filter) <= std::tie(q.after_client, q.after_filter)) continue;
            SubscriptionInfo i;
            i.client_id = s.clientId();
            i.filter = filter;
            i.qos = static_cast<unsigned>(e.options.qos);
            i.no_local = e.options.no_local;
            i.retain_as_published = e.options.retain_as_published;
            i.retain_handling = e.options.retain_handling;
            i.identifier = e.identifier;
            i.connected = s.link != nullptr;
            top.add(std::move(i));
        }
    };
    if (!q.client_id.empty()) {
        if (auto it = sessions_.find(q.client_id); it != sessions_.end()) visit(*it->second);
    } else {
        for (const auto& [id, s] : sessions_)
            visit(*s);
    }
    page.items = top.take();
    return page;
}

std::vector<DisconnectRecord> Shard::recentDisconnects() const {
    return {recent_disconnects_.rbegin(), recent_disconnects_.rend()};
}

void Shard::noteDisconnect(const Session& s, const ClientLink& link, CloseReason reason, uint64_t now_ms) {
    if (recent_disconnects_.size() == kRecentDisconnects) recent_disconnects_.pop_front();
    DisconnectRecord r;
    r.at_ms = now_ms;
    r.client_id = s.clientId();
    r.username = s.grants.username;
    r.address = link.remoteAddress();
    r.reason = closeReasonText(reason);
    if (!link.close_detail.empty()) r.reason += ": " + link.close_detail;
    recent_disconnects_.push_back(std::move(r));
}

bool Shard::kick(std::string_view client_id, bool end_session) {
    auto it = sessions_.find(client_id);
    if (it == sessions_.end()) return false;
    Session& s = *it->second;
    spdlog::info("Admin API: {} client {}.", end_session ? "ending the session of" : "disconnecting", s.clientId());
    if (s.link) {
        if (end_session) {
            // onClosed ends a session that is not persistent (and publishes its will at once).
            s.persistent = false;
            s.expiry_interval = 0;
        }
        disconnect(*s.link, protocol::ReasonCode::kAdministrativeAction, CloseReason::kAdministrative);
    } else if (end_session) {
        publishWill(s);  // a delayed will goes out when its session ends [MQTT-3.1.3-9]
        endSession(s);
    }
    return true;
}

bool Shard::clearRetained(std::string_view topic) {
    std::vector<MessagePtr> found;
    broker_.retained().match(topic, found);
    if (found.empty()) return false;
    Message::Init init;
    init.topic = topic;
    init.retain = true;
    auto empty = Message::create(init);
    if (broker_.retained().set(empty)) storeRetained(empty);
    spdlog::info("Admin API: deleted the retained message of {}.", topic);
    return true;
}

}  // namespace starling::broker
