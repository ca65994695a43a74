// SUBSCRIBE and UNSUBSCRIBE: the session's subscriptions, the local trie, the route index, SUBACK,
// UNSUBACK and retained messages [MQTT 3.1.1 sections 3.8-3.11].
#include <spdlog/spdlog.h>

#include "broker/shard.hpp"
#include "protocol/suback.hpp"
#include "protocol/topic.hpp"
#include "protocol/unsuback.hpp"

namespace starling::broker {

using protocol::ProtocolVersion;
using protocol::QoS;
using protocol::ReasonCode;

void Shard::handleSubscribe(ClientLink& link, const protocol::Subscribe& sub) {
    Session& s = *link.session;
    const ProtocolVersion v = link.version;
    protocol::Suback ack;
    ack.packet_id = sub.packet_id;
    ack.codes.reserve(sub.topics.size());
    std::vector<std::pair<std::string_view, QoS>> granted;
    std::vector<size_t> retained_for;  // indexes of the filters that get retained messages
    for (size_t i = 0; i < sub.topics.size(); ++i) {
        const auto& t = sub.topics[i];
        const bool shared = t.filter.starts_with("$share/");
        if (shared && t.options.no_local) {
            // [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error.
            return protocolViolation(link, "[MQTT-3.8.3-4] No Local set on a shared subscription");
        }
        if (!security().canSubscribe(s.clientId(), s.grants, t.filter)) {
            // [MQTT-3.9.3-2] refused by the ACL: 0x80 (failure) before v5, 0x87 (not authorized) in v5.
            spdlog::info("Denied SUBSCRIBE from {} to {}.", s.clientId(), t.filter);
            ack.codes.push_back(v == ProtocolVersion::kV5 ? static_cast<uint8_t>(ReasonCode::kNotAuthorized) : 0x80);
            continue;
        }
        SubscriptionEntry e;
        e.options = t.options;
        if (sub.properties.subscription_identifiers.size() == 1)
            e.identifier = sub.properties.subscription_identifiers[0];
        bool is_new = addSubscription(s, t.filter, e);
        // Retain Handling 0: send retained messages; 1: only for a new subscription; 2: never. A shared
        // subscription gets none (MQTT 5.0 section 4.8.2).
        if (!shared && (v != ProtocolVersion::kV5 || t.options.retain_handling == 0 ||
                        (t.options.retain_handling == 1 && is_new))) {
            retained_for.push_back(i);
        }
        ack.codes.push_back(static_cast<uint8_t>(t.options.qos));  // [MQTT-3.9.3-1] one code per filter, in order
        granted.emplace_back(t.filter, t.options.qos);
        spdlog::debug("{} {} {}", s.clientId(), static_cast<int>(t.options.qos), t.filter);
    }
    protocol::encodeSuback(link.writeBuffer(), ack, v);
    link.flushSoon();
    stats_.messages_sent.add();
    // [MQTT-3.3.1-6] retained messages matching a new subscription are sent after the SUBACK.
    for (size_t i : retained_for) {
        const auto& t = sub.topics[i];
        sendRetained(s, t.filter, t.options.qos,
                     sub.properties.subscription_identifiers.empty() ? 0 : sub.properties.subscription_identifiers[0]);
    }
}

void Shard::handleUnsubscribe(ClientLink& link, const protocol::Unsubscribe& u) {
    Session& s = *link.session;
    protocol::Unsuback ack;
    ack.packet_id = u.packet_id;
    for (auto filter : u.filters) {
        bool existed = s.subscriptions.count(std::string(filter)) > 0;
        removeSubscription(s, filter);
        ack.codes.push_back(static_cast<uint8_t>(existed ? ReasonCode::kSuccess : ReasonCode::kNoSubscriptionExisted));
    }
    protocol::encodeUnsuback(link.writeBuffer(), ack, link.version);
    link.flushSoon();
    stats_.messages_sent.add();
}

void Shard::sendRetained(Session& s, std::string_view filter, QoS granted, uint32_t identifier) {
    std::vector<MessagePtr> found;
    broker_.retained().match(filter, found);
    std::vector<uint32_t> ids;
    if (identifier) ids.push_back(identifier);
    const Security& sec = security();
    for (auto& m : found) {
        if (sec.checksDelivery() && !sec.canReceive(s.clientId(), s.grants, m->topic())) {
            stats_.dropped_acl.add();
            continue;
        }
        deliver(s, m, std::min(m->qos(), granted), true, ids);
    }
}

std::pair<std::string_view, std::string_view> splitShared(std::string_view filter) {
    if (!filter.starts_with("$share/")) return {};
    std::string_view rest = filter.substr(7);
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return {};
    return {rest.substr(0, slash), rest.substr(slash + 1)};
}

bool Shard::addSubscription(Session& s, std::string_view filter, const SubscriptionEntry& e) {
    s.subscriptions.insert_or_assign(std::string(filter), e);
    storeSubscription(s, filter, &e);
    if (auto [group, real] = splitShared(filter); !group.empty()) {
        auto& groups = shared_.at(real);
        SharedGroup* g = nullptr;
        for (auto& candidate : groups)
            if (candidate.name == group) g = &candidate;
        if (!g) g = &groups.emplace_back(SharedGroup{std::string(group), {}, 0, nullptr});
        for (auto& sub : g->members) {
            if (sub.session == &s) {
                sub.entry = e;
                return false;
            }
        }
        g->members.push_back(Subscriber{&s, e});
        stats_.subscriptions.add();
        routeChanged(filter, true);  // shared routes count members, not just the first and the last
        return true;
    }
    auto& subs = subscriptions_.at(filter);
    for (auto& sub : subs) {
        if (sub.session == &s) {
            // [MQTT-3.8.4-3] an identical filter replaces the existing subscription.
            sub.entry = e;
            return false;
        }
    }
    subs.push_back(Subscriber{&s, e});
    stats_.subscriptions.add();
    if (subs.size() == 1) routeChanged(filter, true);
    return true;
}

void Shard::removeSubscription(Session& s, std::string_view filter) {
    auto it = s.subscriptions.find(std::string(filter));
    if (it == s.subscriptions.end()) return;
    s.subscriptions.erase(it);
    storeSubscription(s, filter, nullptr);
    if (auto [group, real] = splitShared(filter); !group.empty()) {
        auto* groups = shared_.find(real);
        if (!groups) return;
        for (auto git = groups->begin(); git != groups->end(); ++git) {
            if (git->name != group) continue;
            auto& members = git->members;
            for (auto mit = members.begin(); mit != members.end(); ++mit) {
                if (mit->session == &s) {
                    members.erase(mit);
                    stats_.subscriptions.sub();
                    routeChanged(filter, false);
                    break;
                }
            }
            if (git->sticky == &s) git->sticky = nullptr;
            if (members.empty()) groups->erase(git);
            break;
        }
        if (groups->empty()) shared_.erase(real);
        return;
    }
    auto* subs = subscriptions_.find(filter);
    if (!subs) return;
    for (auto sit = subs->begin(); sit != subs->end(); ++sit) {
        if (sit->session == &s) {
            subs->erase(sit);
            stats_.subscriptions.sub();
            break;
        }
    }
    if (subs->empty()) {
        subscriptions_.erase(filter);
        routeChanged(filter, false);
    }
}

void Shard::removeAllSubscriptions(Session& s) {
    std::vector<std::string> filters;
    filters.reserve(s.subscriptions.size());
    for (auto& [f, e] : s.subscriptions)
        filters.push_back(f);
    for (auto& f : filters)
        removeSubscription(s, f);
}

void Shard::routeChanged(std::string_view filter, bool add) {
    // The route index is replicated on every worker: each learns that this worker gained its first or
    // lost its last subscriber to `filter`. Messages between workers keep their order, so a publish
    // routed after this change sees it.
    applyRoute(std::string(filter), index_, add);
    for (unsigned w = 0; w < broker_.workerCount(); ++w) {
        if (w == index_) continue;
        Shard* target = &broker_.shard(w);
        broker_.post(w, [target, f = std::string(filter), from = index_, add] { target->applyRoute(f, from, add); });
    }
}

void Shard::applyRoute(const std::string& filter, unsigned worker, bool add) {
    if (auto [group, real] = splitShared(filter); !group.empty()) {
        auto& groups = shared_routes_.at(real);
        SharedRoute* r = nullptr;
        for (auto& candidate : groups)
            if (candidate.key == filter) r = &candidate;
        if (add) {
            if (!r) r = &groups.emplace_back(SharedRoute{filter});
            r->workers |= uint64_t(1) << worker;
            ++r->members[worker];
            ++r->total;
            return;
        }
        if (r && r->members[worker]) {
            --r->total;
            if (--r->members[worker] == 0) r->workers &= ~(uint64_t(1) << worker);
            if (!r->workers) groups.erase(groups.begin() + (r - groups.data()));
        }
        if (groups.empty()) shared_routes_.erase(real);
        return;
    }
    if (add) {
        routes_.at(filter) |= (uint64_t(1) << worker);
        return;
    }
    uint64_t* mask = routes_.find(filter);
    if (!mask) return;
    *mask &= ~(uint64_t(1) << worker);
    if (*mask == 0) routes_.erase(filter);
}

}  // namespace starling::broker
