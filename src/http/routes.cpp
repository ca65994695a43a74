#include "http/routes.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>

#include "auth/encoding.hpp"
#include "auth/password_store.hpp"
#include "broker/broker.hpp"
#include "broker/shard.hpp"
#include "config/values.hpp"
#include "http/admin_api.hpp"
#include "http/broker_status.hpp"
#include "http/dashboard.hpp"
#include "http/metrics.hpp"
#include "http/worker_query.hpp"

namespace starling::http {

namespace {

constexpr const char* kJson = "application/json";

HttpResponse json(unsigned status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.content_type = kJson;
    r.body = std::move(body);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
}

HttpResponse error(unsigned status, std::string_view message) {
    std::string body = "{\"error\":\"";
    for (char c : message)  // our own messages: no control characters, only quotes to escape
        body += c == '"' ? std::string("\\\"") : std::string(1, c);
    return json(status, body + "\"}");
}

int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// application/x-www-form-urlencoded, as URLSearchParams writes it: `+` is a space, `%XX` a byte.
std::optional<std::string> percentDecode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '+') {
            out += ' ';
        } else if (in[i] == '%') {
            if (i + 2 >= in.size()) return std::nullopt;
            int hi = hexValue(in[i + 1]), lo = hexValue(in[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += in[i];
        }
    }
    return out;
}

// The query's parameters; the last value of a repeated one wins. Nothing on a malformed escape.
std::optional<std::map<std::string, std::string>> parseQuery(std::string_view query) {
    std::map<std::string, std::string> params;
    while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) continue;
        size_t eq = pair.find('=');
        auto key = percentDecode(pair.substr(0, eq));
        auto value = percentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        if (!key || !value) return std::nullopt;
        params[*key] = *value;
    }
    return params;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

// `Scheme credentials` -> credentials when the scheme matches (any case, RFC 7235).
std::optional<std::string_view> credentialsFor(std::string_view authorization, std::string_view scheme) {
    size_t space = authorization.find(' ');
    if (space == std::string_view::npos || !equalsIgnoringCase(authorization.substr(0, space), scheme))
        return std::nullopt;
    std::string_view credentials = authorization.substr(space);
    credentials.remove_prefix(std::min(credentials.find_first_not_of(' '), credentials.size()));
    return credentials;
}

std::optional<size_t> parseLimit(const std::map<std::string, std::string>& params, size_t fallback, size_t max) {
    auto it = params.find("limit");
    if (it == params.end()) return fallback;
    const std::string& text = it->second;
    size_t limit = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (ec != std::errc() || end != text.data() + text.size() || limit == 0) return std::nullopt;
    return std::min(limit, max);
}

std::string param(const std::map<std::string, std::string>& params, const char* name) {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
}

HttpResponse workersBusy() {
    HttpResponse r = error(503, "a worker did not answer in time (overloaded); try again");
    r.headers.emplace_back("Retry-After", "1");
    return r;
}

// A state-changing request from a page of another site carries that site's Origin: refuse it, so a browser
// that holds Basic credentials for the broker cannot be made to act by a page it visits.
bool sameOrigin(std::string_view origin, std::string_view host) {
    if (origin.empty()) return true;  // not a browser's cross-site request
    size_t scheme = origin.find("://");
    return scheme != std::string_view::npos && origin.substr(scheme + 3) == host;
}

}  // namespace

Routes::Routes(broker::Broker& broker) : broker_(broker) {}
Routes::~Routes() = default;

void Routes::setAccess(Access access) {
    access_ = std::move(access);
    verified_.clear();
}

Role Routes::roleOf(std::string_view authorization) {
    if (access_.open()) return Role::kRead;
    if (auto token = credentialsFor(authorization, "Bearer")) {
        // Every token is compared (in time independent of where they differ), so timing tells nothing.
        Role role = Role::kNone;
        for (const auto& [t, r] : access_.tokens)
            if (auth::equalConstantTime(*token, t)) role = r;
        return role;
    }
    auto basic = credentialsFor(authorization, "Basic");
    if (!basic || access_.users.empty() || !access_.passwords) return Role::kNone;
    std::string key = auth::sha256(*basic);
    auto now = std::chrono::steady_clock::now();
    if (auto it = verified_.find(key); it != verified_.end()) {
        if (it->second.until > now) return it->second.role;
        verified_.erase(it);
    }
    auto decoded = auth::base64Decode(*basic);
    if (!decoded) return Role::kNone;
    size_t colon = decoded->find(':');
    if (colon == std::string::npos) return Role::kNone;
    std::string_view user = std::string_view(*decoded).substr(0, colon);
    std::string_view password = std::string_view(*decoded).substr(colon + 1);
    auto u = access_.users.find(user);
    if (u == access_.users.end() || access_.passwords->check(user, password) != auth::PasswordStore::Check::kOk)
        return Role::kNone;
    if (verified_.size() > 1000) verified_.clear();  // bounded; costs a re-check at most
    verified_[key] = {u->second, now + std::chrono::minutes(1)};
    return u->second;
}

HttpResponse Routes::handle(const HttpRequest& req) {
    std::string_view target = req.target;
    size_t question = target.find('?');
    std::string_view path = target.substr(0, question);
    std::string_view query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    const bool read = req.method == "GET" || req.method == "HEAD";

    if (path == "/health") {
        if (!read) return error(405, "only GET and HEAD are supported here");
        return json(200, "{\"status\":\"ok\"}");
    }
    if (path == "/" || path == "/index.html") {
        if (!read) return error(405, "only GET and HEAD are supported here");
        // The page itself holds no broker data, so it loads without credentials and asks for a token when the
        // API answers 401: a browser cannot send a bearer token when it navigates.
        HttpResponse r;
        r.content_type = "text/html; charset=utf-8";
        r.body = std::string(dashboardPage());
        r.headers.emplace_back("Content-Security-Policy",
                               "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                               "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'");
        r.headers.emplace_back("X-Content-Type-Options", "nosniff");
        r.headers.emplace_back("Referrer-Policy", "no-referrer");
        r.headers.emplace_back("Cache-Control", "no-cache");
        return r;
    }

    // What is asked: a read of a collection, or an action on one item.
    enum class Action { kNone, kKick, kEndSession, kDeleteRetained } action = Action::kNone;
    std::string item;  // the client id of an action, percent-decoded
    static constexpr std::string_view kClients = "/api/v1/clients/", kSessions = "/api/v1/sessions/";
    auto itemOf = [&](std::string_view prefix, std::string_view suffix) -> bool {
        if (!path.starts_with(prefix) || !path.ends_with(suffix) || path.size() <= prefix.size() + suffix.size())
            return false;
        auto decoded = percentDecode(path.substr(prefix.size(), path.size() - prefix.size() - suffix.size()));
        if (!decoded) return false;
        item = std::move(*decoded);
        return true;
    };
    bool readable = path == "/metrics" || path == "/api/v1/stats" || path == "/api/v1/retained" ||
                    path == "/api/v1/clients" || path == "/api/v1/sessions" || path == "/api/v1/subscriptions" ||
                    path == "/api/v1/disconnects" || path == "/api/v1/listeners" || path == "/api/v1/config";
    if (itemOf(kClients, "/kick")) {
        action = Action::kKick;
    } else if (itemOf(kSessions, "")) {
        action = Action::kEndSession;
    } else if (path == "/api/v1/retained" && req.method == "DELETE") {
        action = Action::kDeleteRetained;
    } else if (!readable) {
        return error(404, "no such endpoint");
    }
    const char* allowed = action == Action::kKick         ? "POST"
                          : action == Action::kEndSession ? "DELETE"
                          : path == "/api/v1/retained"    ? "GET, HEAD, DELETE"
                                                          : "GET, HEAD";
    if (action == Action::kNone ? !read : req.method != (action == Action::kKick ? "POST" : "DELETE")) {
        HttpResponse r = error(405, std::string("this endpoint takes ") + allowed);
        r.headers.emplace_back("Allow", allowed);
        return r;
    }

    Role role = roleOf(req.authorization);
    if (role == Role::kNone) {
        HttpResponse r =
            error(401, "credentials are required (Authorization: Bearer TOKEN, or Basic for an http_user)");
        r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"starling\"");
        return r;
    }
    if (action != Action::kNone) {
        if (access_.open()) return error(403, "admin actions need credentials: configure http_auth_token or http_user");
        if (role != Role::kAdmin) return error(403, "this needs the admin role");
        if (!sameOrigin(req.origin, req.host)) return error(403, "cross-origin request refused");
        if (action == Action::kKick) return kick(item, false);
        if (action == Action::kEndSession) return kick(item, true);
        return deleteRetained(query);
    }

    if (path == "/metrics") {
        HttpResponse r;
        r.content_type = kMetricsContentType;
        r.body = renderMetrics(gatherStatus(broker_));
        r.headers.emplace_back("Cache-Control", "no-store");
        return r;
    }
    if (path == "/api/v1/stats") return json(200, statsJson(gatherStatus(broker_)));
    if (path == "/api/v1/retained") return retained(query);
    if (path == "/api/v1/clients") return clients(query, false);
    if (path == "/api/v1/sessions") return clients(query, true);
    if (path == "/api/v1/subscriptions") return subscriptions(query);
    if (path == "/api/v1/disconnects") return disconnects(query);
    if (path == "/api/v1/listeners") return json(200, listenersJson(broker_.config()));
    return json(200, configJson(broker_.config()));
}

HttpResponse Routes::retained(std::string_view query) const {
    auto params = parseQuery(query);
    if (!params) return error(400, "malformed query string");
    RetainedQuery q;
    q.prefix = param(*params, "prefix");
    q.after = param(*params, "after");
    auto limit = parseLimit(*params, RetainedQuery::kDefaultLimit, RetainedQuery::kMaxLimit);
    if (!limit) return error(400, "limit must be a positive integer");
    q.limit = *limit;
    return json(200, retainedJson(broker_.retained(), q));
}

// /api/v1/clients: connected clients; /api/v1/sessions: every session, `state=connected|offline` to narrow it.
// Both take prefix=, after= (id order) or order=queue (deepest queues first), limit=.
HttpResponse Routes::clients(std::string_view query, bool sessions) const {
    auto params = parseQuery(query);
    if (!params) return error(400, "malformed query string");
    broker::ClientQuery q;
    q.prefix = param(*params, "prefix");
    q.after = param(*params, "after");
    auto limit = parseLimit(*params, broker::ClientQuery::kDefaultLimit, broker::ClientQuery::kMaxLimit);
    if (!limit) return error(400, "limit must be a positive integer");
    q.limit = *limit;
    std::string order = param(*params, "order");
    if (order == "queue") {
        q.order = broker::ClientQuery::Order::kQueueDepth;
    } else if (!order.empty() && order != "client_id") {
        return error(400, "order must be client_id or queue");
    }
    std::string state = param(*params, "state");
    if (!sessions || state == "connected") {
        q.state = broker::ClientQuery::State::kConnected;
    } else if (state == "offline") {
        q.state = broker::ClientQuery::State::kOffline;
    } else if (!state.empty() && state != "any") {
        return error(400, "state must be any, connected or offline");
    }
    auto pages = askWorkers<broker::Page<broker::ClientInfo>>(
        broker_, [q](broker::Shard& shard) { return shard.listClients(q); });
    if (!pages) return workersBusy();
    return json(200, clientsJson(std::move(*pages), q));
}

// client_id= (one client's), prefix= (filters starting with it), after_client= and after_filter= (the previous
// page's `next`), limit=.
HttpResponse Routes::subscriptions(std::string_view query) const {
    auto params = parseQuery(query);
    if (!params) return error(400, "malformed query string");
    broker::SubscriptionQuery q;
    q.client_id = param(*params, "client_id");
    q.filter_prefix = param(*params, "prefix");
    q.after_client = param(*params, "after_client");
    q.after_filter = param(*params, "after_filter");
    auto limit = parseLimit(*params, broker::SubscriptionQuery::kDefaultLimit, broker::SubscriptionQuery::kMaxLimit);
    if (!limit) return error(400, "limit must be a positive integer");
    q.limit = *limit;
    std::vector<unsigned> workers;  // one client's subscriptions live on the worker that owns its session
    if (!q.client_id.empty()) workers.push_back(broker_.ownerOf(q.client_id));
    auto pages = askWorkers<broker::Page<broker::SubscriptionInfo>>(
        broker_, [q](broker::Shard& shard) { return shard.listSubscriptions(q); }, workers);
    if (!pages) return workersBusy();
    return json(200, subscriptionsJson(std::move(*pages), q));
}

HttpResponse Routes::disconnects(std::string_view query) const {
    auto params = parseQuery(query);
    if (!params) return error(400, "malformed query string");
    auto limit = parseLimit(*params, 20, broker::Shard::kRecentDisconnects);
    if (!limit) return error(400, "limit must be a positive integer");
    auto lists = askWorkers<std::vector<broker::DisconnectRecord>>(
        broker_, [](broker::Shard& shard) { return shard.recentDisconnects(); });
    if (!lists) return workersBusy();
    return json(200, disconnectsJson(std::move(*lists), *limit));
}

HttpResponse Routes::kick(std::string_view client_id, bool end_session) const {
    std::string id(client_id);
    auto found =
        askWorkers<bool>(broker_, [id, end_session](broker::Shard& shard) { return shard.kick(id, end_session); },
                         {broker_.ownerOf(id)});
    if (!found) return workersBusy();
    if (!(*found)[0]) return error(404, "no session with that client id");
    return json(200, actionJson(id, end_session ? "session ended" : "disconnected"));
}

HttpResponse Routes::deleteRetained(std::string_view query) const {
    auto params = parseQuery(query);
    if (!params) return error(400, "malformed query string");
    std::string topic = param(*params, "topic");
    if (topic.empty() || !config::isValidUtf8(topic) || topic.find_first_of("+#") != std::string::npos)
        return error(400, "topic= must name one topic (no wildcards)");
    // Any worker can do it: the retained store is shared; the store record goes with that worker's batch.
    auto deleted = askWorkers<bool>(broker_, [topic](broker::Shard& shard) { return shard.clearRetained(topic); }, {0});
    if (!deleted) return workersBusy();
    if (!(*deleted)[0]) return error(404, "no retained message on that topic");
    return json(200, "{\"deleted\":true}");
}

}  // namespace starling::http
