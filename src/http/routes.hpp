#pragma once
// What the HTTP server answers, without the HTTP machinery: a request's method, target and Authorization
// header in, status, headers and body out. Owned by the HttpServer and used on its thread only.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace starling::broker {
class Broker;
}  // namespace starling::broker

namespace starling::http {

struct HttpRequest {
    std::string_view method;         // "GET", "HEAD", ...
    std::string_view target;         // "/api/v1/retained?prefix=a%2Fb"
    std::string_view authorization;  // the Authorization header, "" when absent
};

struct HttpResponse {
    unsigned status = 200;
    std::string content_type;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type and Content-Length
};

class Routes {
  public:
    explicit Routes(broker::Broker& broker) : broker_(broker) {}

    // The bearer token every endpoint but /health and the (data-free) dashboard page asks for; "" for none.
    void setToken(std::string token) { token_ = std::move(token); }

    // GET /health, /metrics, /api/v1/stats, /api/v1/retained?prefix=&after=&limit=, / (the dashboard).
    // HEAD is answered as GET (the server leaves the body out); other methods get 405.
    HttpResponse handle(const HttpRequest& request) const;

  private:
    bool authorized(std::string_view authorization) const;
    HttpResponse retained(std::string_view query) const;

    broker::Broker& broker_;
    std::string token_;
};

}  // namespace starling::http
