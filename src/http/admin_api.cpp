#include "http/admin_api.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "auth/encoding.hpp"
#include "broker/retained_store.hpp"
#include "config/values.hpp"
#include "util/version.hpp"

namespace starling::http {

namespace {

using nlohmann::json;

std::string dump(const json& j) {
    // Topics and UTF-8 payloads are checked before they get here; replace rather than throw if one is not.
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json payloadFields(std::string_view payload) {
    size_t shown = std::min(payload.size(), RetainedQuery::kPayloadShown);
    json j;
    j["truncated"] = shown < payload.size();
    // Cut text at a character boundary, not inside a UTF-8 sequence.
    size_t text_end = shown;
    while (text_end < payload.size() && text_end > 0 && (uint8_t(payload[text_end]) & 0xC0) == 0x80)
        --text_end;
    std::string_view text = payload.substr(0, text_end);
    if (config::isValidUtf8(text)) {
        j["encoding"] = "utf8";
        j["payload"] = std::string(text);
    } else {
        j["encoding"] = "base64";
        j["payload"] = auth::base64Encode(payload.substr(0, shown));
    }
    return j;
}

}  // namespace

std::string statsJson(const BrokerStatus& s) {
    const auto& st = s.stats;
    json lagMs = json::array();  // per worker
    for (uint64_t us : s.loop_lag_us)
        lagMs.push_back(double(us) / 1000.0);
    json j = {
        {"version", kVersion},
        {"time_ms", s.now_ms},
        {"uptime_seconds", s.uptime_ms / 1000},
        {"workers", s.workers},
        {"connections",
         {{"open", std::max<int64_t>(s.connections_open, 0)},
          {"accepted", st.connections_total},
          {"refused",
           {{"server_busy", st.refused_busy}, {"not_authorized", st.auth_failures}, {"invalid", st.refused_invalid}}}}},
        {"clients", {{"connected", st.clients_connected}, {"sessions", st.clients_total}}},
        {"messages",
         {{"received", st.messages_received},
          {"sent", st.messages_sent},
          {"publish_received", st.publish_received},
          {"publish_sent", st.publish_sent},
          {"bytes_received", st.bytes_received},
          {"bytes_sent", st.bytes_sent}}},
        {"dropped",
         {{"queue_full", st.dropped_queue_full},
          {"output_limit", st.dropped_output_limit},
          {"expired", st.dropped_expired},
          {"too_large", st.dropped_too_large},
          {"acl", st.dropped_acl}}},
        {"auth_failures", st.auth_failures},
        {"retained", {{"messages", s.retained_messages}, {"bytes", s.retained_bytes}, {"on_disk", s.retained_on_disk}}},
        {"subscriptions", st.subscriptions},
        {"queued_messages", st.queued_messages},
        {"inflight_messages", st.inflight_messages},
        {"queued_messages_evicted", st.queued_evicted},
        {"queued_messages_lost", st.queued_lost},
        {"output_queued_bytes", std::max<int64_t>(s.output_queued_bytes, 0)},
        {"publish_by_qos", {{"in", st.publish_in_by_qos}, {"out", st.publish_out_by_qos}}},
        {"tls_failures", st.tls_failures},
        {"event_loop_lag_ms", lagMs},
        {"store", s.persistence ? json{{"bytes", s.store_bytes},
                                       {"write_errors", st.store_errors},
                                       {"damaged", s.store_moved_aside ? json("moved_aside")
                                                   : s.store_repaired  ? json("repaired")
                                                                       : json(nullptr)},
                                       {"unreadable_records", s.store_unreadable_records}}
                                : json(nullptr)},
    };
    return dump(j);
}

std::string retainedJson(const broker::RetainedStore& store, const RetainedQuery& q) {
    auto page = store.browse(q.prefix, q.after, q.limit);
    json messages = json::array();
    for (const auto& m : page.messages) {
        json item = {{"topic", std::string(m->topic())}, {"qos", int(m->qos())}, {"size", m->payload().size()}};
        item.update(payloadFields(m->payload()));
        messages.push_back(std::move(item));
    }
    bool more = page.remaining > page.messages.size() && !page.messages.empty();
    json j = {
        {"prefix", q.prefix},
        {"total", page.total},
        {"messages", std::move(messages)},
        {"next", more ? json(std::string(page.messages.back()->topic())) : json(nullptr)},
    };
    return dump(j);
}

namespace {

// The workers' pages are each sorted by `less`: merge them and keep the first `limit`.
template <typename T, typename Less>
std::vector<T> mergePages(std::vector<broker::Page<T>>& pages, size_t limit, Less less, size_t& total) {
    std::vector<T> all;
    total = 0;
    for (auto& p : pages) {
        total += p.total;
        std::move(p.items.begin(), p.items.end(), std::back_inserter(all));
    }
    std::sort(all.begin(), all.end(), less);
    if (all.size() > limit) all.resize(limit);
    return all;
}

json optionalMs(uint64_t ms) {
    return ms ? json(ms) : json(nullptr);
}

json listenerJson(const config::Listener& l) {
    json tls = nullptr;
    if (l.tls.enabled()) {
        tls = {{"certfile", l.tls.certfile},
               {"cafile", l.tls.cafile},
               {"require_certificate", l.tls.require_certificate},
               {"use_identity_as_username", l.tls.use_identity_as_username},
               {"use_subject_as_username", l.tls.use_subject_as_username},
               {"tls_version", l.tls.tls_version.empty() ? "tlsv1.2" : l.tls.tls_version},
               {"psk", !l.tls.psk_hint.empty()}};
    }
    json j = {{"port", l.port},
              {"address", l.address.empty() ? json(nullptr) : json(l.address)},
              {"protocol", l.protocol},
              {"tls", std::move(tls)},
              {"max_connections", l.max_connections < 0 ? json(nullptr) : json(l.max_connections)},
              {"source", l.source}};
    if (l.password_file) j["password_file"] = *l.password_file;
    if (l.acl_file) j["acl_file"] = *l.acl_file;
    if (l.allow_anonymous) j["allow_anonymous"] = *l.allow_anonymous;
    return j;
}

json limit64(uint64_t v) {
    return v == UINT64_MAX ? json(nullptr) : json(v);
}

}  // namespace

std::string clientsJson(std::vector<broker::Page<broker::ClientInfo>> pages, const broker::ClientQuery& q) {
    size_t total = 0;
    auto items = mergePages(
        pages, q.limit, [&q](const auto& a, const auto& b) { return broker::comesBefore(q.order, a, b); }, total);
    json clients = json::array();
    for (const auto& c : items) {
        clients.push_back({{"client_id", c.client_id},
                           {"username", c.username.empty() ? json(nullptr) : json(c.username)},
                           {"connected", c.connected},
                           {"address", c.address.empty() ? json(nullptr) : json(c.address)},
                           {"protocol", c.protocol == 5   ? "5.0"
                                        : c.protocol == 3 ? "3.1"
                                                          : "3.1.1"},
                           {"listener_port", c.connected ? json(c.listener_port) : json(nullptr)},
                           {"tls", c.tls},
                           {"keep_alive", c.keep_alive},
                           {"persistent", c.persistent},
                           {"connected_at_ms", optionalMs(c.connected_at_ms)},
                           {"disconnected_at_ms", optionalMs(c.disconnected_at_ms)},
                           {"last_disconnect", c.last_disconnect.empty() ? json(nullptr) : json(c.last_disconnect)},
                           {"expires_at_ms", optionalMs(c.expires_at_ms)},
                           {"subscriptions", c.subscriptions},
                           {"queued", c.queued},
                           {"queued_bytes", c.queued_bytes},
                           {"inflight", c.inflight},
                           {"output_bytes", c.output_bytes},
                           {"worker", c.worker}});
    }
    // A full page in id order may have more after it; the next page starts after its last id.
    bool more = q.order == broker::ClientQuery::Order::kClientId && items.size() == q.limit;
    json j = {{"total", total},
              {"clients", std::move(clients)},
              {"next", more ? json(items.back().client_id) : json(nullptr)}};
    return dump(j);
}

std::string subscriptionsJson(std::vector<broker::Page<broker::SubscriptionInfo>> pages,
                              const broker::SubscriptionQuery& q) {
    size_t total = 0;
    auto items = mergePages(
        pages, q.limit, [](const auto& a, const auto& b) { return broker::comesBefore(a, b); }, total);
    json subs = json::array();
    for (const auto& i : items) {
        subs.push_back({{"client_id", i.client_id},
                        {"filter", i.filter},
                        {"qos", i.qos},
                        {"no_local", i.no_local},
                        {"retain_as_published", i.retain_as_published},
                        {"retain_handling", i.retain_handling},
                        {"identifier", i.identifier ? json(i.identifier) : json(nullptr)},
                        {"connected", i.connected}});
    }
    bool more = items.size() == q.limit;
    json j = {
        {"total", total},
        {"subscriptions", std::move(subs)},
        {"next", more ? json{{"client_id", items.back().client_id}, {"filter", items.back().filter}} : json(nullptr)}};
    return dump(j);
}

std::string disconnectsJson(std::vector<std::vector<broker::DisconnectRecord>> lists, size_t limit) {
    std::vector<broker::DisconnectRecord> all;
    for (auto& l : lists)
        std::move(l.begin(), l.end(), std::back_inserter(all));
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.at_ms > b.at_ms; });
    if (all.size() > limit) all.resize(limit);
    json items = json::array();
    for (const auto& d : all) {
        items.push_back({{"at_ms", d.at_ms},
                         {"client_id", d.client_id},
                         {"username", d.username.empty() ? json(nullptr) : json(d.username)},
                         {"address", d.address},
                         {"reason", d.reason}});
    }
    return dump({{"disconnects", std::move(items)}});
}

std::string listenersJson(const config::Config& cfg) {
    json listeners = json::array();
    for (const auto& l : cfg.listeners)
        listeners.push_back(listenerJson(l));
    json http = nullptr;
    if (cfg.http_listener) {
        const auto& h = *cfg.http_listener;
        http = {{"port", h.port}, {"address", h.address.empty() ? json(nullptr) : json(h.address)}};
    }
    return dump({{"listeners", std::move(listeners)}, {"http", std::move(http)}});
}

std::string configJson(const config::Config& c) {
    json listeners = json::array();
    for (const auto& l : c.listeners)
        listeners.push_back(listenerJson(l));
    const auto& jwt = c.jwt;
    json j = {
        {"source", c.source_path},
        {"listeners", std::move(listeners)},
        {"worker_threads", c.worker_threads},
        {"allow_anonymous", c.allow_anonymous ? json(*c.allow_anonymous) : json(nullptr)},
        {"per_listener_settings", c.per_listener_settings},
        {"password_file", c.password_file},
        {"acl_file", c.acl_file},
        {"jwt", jwt.enabled() ? json{{"key_file", jwt.key_file},
                                     {"jwks_file", jwt.jwks_file},
                                     {"secret_file", jwt.secret_file},
                                     {"algorithms", jwt.algorithms},
                                     {"issuer", jwt.issuer},
                                     {"audience", jwt.audience},
                                     {"username_claim", jwt.username_claim},
                                     {"publish_claim", jwt.publish_claim},
                                     {"subscribe_claim", jwt.subscribe_claim}}
                              : json(nullptr)},
        {"max_connections", c.max_connections < 0 ? json(nullptr) : json(c.max_connections)},
        {"max_keepalive", c.max_keepalive},
        {"message_size_limit", c.message_size_limit},
        {"max_packet_size", c.max_packet_size},
        {"max_inflight_messages", c.max_inflight_messages},
        {"max_topic_alias", c.max_topic_alias},
        {"max_queued_messages", c.max_queued_messages},
        {"max_queued_bytes", c.max_queued_bytes},
        {"queue_qos0_messages", c.queue_qos0_messages},
        {"retain_available", c.retain_available},
        {"allow_zero_length_clientid", c.allow_zero_length_clientid},
        {"auto_id_prefix", c.auto_id_prefix},
        {"shared_subscription_strategy", c.shared_subscription_strategy},
        {"sys_interval", c.sys_interval},
        {"output_limit",
         {{"soft", limit64(c.output_limit_soft)},
          {"hard", limit64(c.output_limit_hard)},
          {"soft_seconds", c.output_limit_soft_seconds}}},
        {"persistence", c.persistence},
        {"persistence_location", c.persistence_location},
        {"persistence_sync", c.persistence_sync},
        {"persistence_sync_interval", c.persistence_sync_interval_ms},
        {"persistence_queue_memory", c.persistence_queue_memory},
        {"persistence_retained_memory", c.persistence_retained_memory},
        {"http_listener", c.http_listener ? json{{"port", c.http_listener->port}, {"address", c.http_listener->address}}
                                          : json(nullptr)},
        {"http_auth_token", c.http_auth_token_file},
        {"http_users", c.http_users},
        {"log_timestamp", c.log_timestamp},
        {"log_type", c.log_type},
        {"pid_file", c.pid_file},
        {"user", c.user},
    };
    return dump(j);
}

std::string actionJson(std::string_view client_id, std::string_view result) {
    return dump({{"client_id", std::string(client_id)}, {"result", std::string(result)}});
}

}  // namespace starling::http
