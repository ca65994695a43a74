#include "http/routes.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>

#include "broker/broker.hpp"
#include "http/admin_api.hpp"
#include "http/broker_status.hpp"
#include "http/dashboard.hpp"
#include "http/metrics.hpp"

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

// Compares in time independent of where the first difference is, so the token cannot be guessed byte by byte.
bool sameSecret(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

}  // namespace

bool Routes::authorized(std::string_view authorization) const {
    if (token_.empty()) return true;
    // RFC 6750 2.1: `Bearer` (any case), one or more spaces, the token.
    size_t space = authorization.find(' ');
    if (space == std::string_view::npos || !equalsIgnoringCase(authorization.substr(0, space), "Bearer")) return false;
    std::string_view credentials = authorization.substr(space);
    credentials.remove_prefix(std::min(credentials.find_first_not_of(' '), credentials.size()));
    return sameSecret(credentials, token_);
}

HttpResponse Routes::handle(const HttpRequest& req) const {
    std::string_view target = req.target;
    size_t question = target.find('?');
    std::string_view path = target.substr(0, question);
    std::string_view query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

    if (req.method != "GET" && req.method != "HEAD") {
        // Everything here is read-only.
        HttpResponse r = error(405, "only GET and HEAD are supported");
        r.headers.emplace_back("Allow", "GET, HEAD");
        return r;
    }
    if (path == "/health") return json(200, "{\"status\":\"ok\"}");
    if (path == "/" || path == "/index.html") {
        // The page itself holds no broker data, so it loads without the token and asks for it when the API
        // answers 401: a browser cannot send a bearer token when it navigates.
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
    bool known = path == "/metrics" || path == "/api/v1/stats" || path == "/api/v1/retained";
    if (!known) return error(404, "no such endpoint");
    if (!authorized(req.authorization)) {
        HttpResponse r = error(401, "a bearer token is required (Authorization: Bearer TOKEN)");
        r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"starling\"");
        return r;
    }
    if (path == "/metrics") {
        HttpResponse r;
        r.content_type = kMetricsContentType;
        r.body = renderMetrics(gatherStatus(broker_));
        r.headers.emplace_back("Cache-Control", "no-store");
        return r;
    }
    if (path == "/api/v1/stats") return json(200, statsJson(gatherStatus(broker_)));
    return retained(query);
}

HttpResponse Routes::retained(std::string_view query) const {
    auto params = parseQuery(query);
    if (!params) return error(400, "malformed query string");
    RetainedQuery q;
    if (auto it = params->find("prefix"); it != params->end()) q.prefix = it->second;
    if (auto it = params->find("after"); it != params->end()) q.after = it->second;
    if (auto it = params->find("limit"); it != params->end()) {
        const std::string& text = it->second;
        size_t limit = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
        if (ec != std::errc() || end != text.data() + text.size() || limit == 0)
            return error(400, "limit must be a positive integer");
        q.limit = std::min(limit, RetainedQuery::kMaxLimit);
    }
    return json(200, retainedJson(broker_.retained(), q));
}

}  // namespace starling::http
