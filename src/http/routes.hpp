#pragma once
// What the HTTP server answers, without the HTTP machinery: a request's method, target and a few headers in,
// status, headers and body out. Owned by the HttpServer and used on its thread only.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace starling::broker {
class Broker;
}  // namespace starling::broker
namespace starling::auth {
class PasswordStore;
}  // namespace starling::auth

namespace starling::http {

struct HttpRequest {
    std::string_view method;         // "GET", "HEAD", "POST", "DELETE", ...
    std::string_view target;         // "/api/v1/retained?prefix=a%2Fb"
    std::string_view authorization;  // the Authorization header, "" when absent
    std::string_view origin;         // the Origin header, "" when absent (a browser's cross-site request has one)
    std::string_view host;           // the Host header
};

struct HttpResponse {
    unsigned status = 200;
    std::string content_type;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type and Content-Length
};

enum class Role { kNone, kRead, kAdmin };

// Who may do what. Bearer tokens (the http_auth_token file: `TOKEN [admin|read]` per line, admin when the
// role is left out) and HTTP Basic for the users `http_user` names, checked against the password file.
// Without tokens and users, everyone reads and nobody acts.
struct Access {
    std::map<std::string, Role, std::less<>> tokens;
    std::map<std::string, Role, std::less<>> users;
    std::shared_ptr<const auth::PasswordStore> passwords;  // set when `users` is not empty
    bool open() const { return tokens.empty() && users.empty(); }
};

class Routes {
  public:
    explicit Routes(broker::Broker& broker);
    ~Routes();

    void setAccess(Access access);

    // GET /health, /metrics, /api/v1/{stats,retained,clients,sessions,subscriptions,disconnects,listeners,config},
    // / (the dashboard); POST /api/v1/clients/ID/kick, DELETE /api/v1/sessions/ID, DELETE /api/v1/retained?topic=
    // (admin). HEAD is answered as GET (the server leaves the body out).
    HttpResponse handle(const HttpRequest& request);

  private:
    Role roleOf(std::string_view authorization);
    HttpResponse retained(std::string_view query) const;
    HttpResponse clients(std::string_view query, bool sessions) const;
    HttpResponse subscriptions(std::string_view query) const;
    HttpResponse disconnects(std::string_view query) const;
    HttpResponse kick(std::string_view client_id, bool end_session) const;
    HttpResponse deleteRetained(std::string_view query) const;

    broker::Broker& broker_;
    Access access_;
    // Basic credentials that passed, by their SHA-256, for a minute: a password hash costs milliseconds
    // (argon2id: tens of them) and the dashboard asks every two seconds.
    struct Verified {
        Role role;
        std::chrono::steady_clock::time_point until;
    };
    std::unordered_map<std::string, Verified> verified_;
};

}  // namespace starling::http
