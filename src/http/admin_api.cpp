#include "http/admin_api.hpp"

#include <nlohmann/json.hpp>

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

std::string base64(std::string_view in) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        uint32_t n = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
        for (int shift : {18, 12, 6, 0})
            out += kAlphabet[(n >> shift) & 63];
    }
    if (size_t left = in.size() - i) {
        uint32_t n = uint32_t(uint8_t(in[i])) << 16 | (left == 2 ? uint32_t(uint8_t(in[i + 1])) << 8 : 0);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += left == 2 ? kAlphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
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
        j["payload"] = base64(payload.substr(0, shown));
    }
    return j;
}

}  // namespace

std::string statsJson(const BrokerStatus& s) {
    const auto& st = s.stats;
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
        {"retained", {{"messages", s.retained_messages}, {"bytes", s.retained_bytes}}},
        {"subscriptions", st.subscriptions},
        {"queued_messages", st.queued_messages},
        {"inflight_messages", st.inflight_messages},
        {"output_queued_bytes", std::max<int64_t>(s.output_queued_bytes, 0)},
        {"store", s.persistence ? json{{"bytes", s.store_bytes}, {"write_errors", st.store_errors}} : json(nullptr)},
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

}  // namespace starling::http
