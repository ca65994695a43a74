#include "broker/security.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace starling::broker {

namespace {

// SCRAM-SHA-256 over the password file's $scram-sha-256$ verifiers.
class ScramExchange final : public AuthExchange {
  public:
    explicit ScramExchange(std::shared_ptr<const auth::PasswordStore> store)
        : store_(std::move(store)), server_([this](std::string_view user) { return credential(user); }) {}

    Step step(std::string_view data) override {
        auto s = first_ ? server_.clientFirst(data) : server_.clientFinal(data);
        first_ = false;
        Step out;
        out.status = s.status == auth::ScramServer::Step::kContinue  ? Step::kContinue
                     : s.status == auth::ScramServer::Step::kSuccess ? Step::kSuccess
                                                                     : Step::kFailure;
        out.data = std::move(s.data);
        out.username = std::move(s.username);
        out.error = std::move(s.error);
        return out;
    }

  private:
    std::optional<auth::ScramCredential> credential(std::string_view user) const {
        if (!store_) return std::nullopt;
        auto hash = store_->hashOf(user);
        if (!hash) return std::nullopt;
        return auth::parseScramVerifier(*hash);
    }

    std::shared_ptr<const auth::PasswordStore> store_;
    auth::ScramServer server_;
    bool first_ = true;
};

template <class T>
std::shared_ptr<const T> orThrow(Result<std::shared_ptr<const T>, std::string> r) {
    if (!r) throw std::runtime_error(r.error());
    return std::move(*r);
}

}  // namespace

Security::Security(const config::Config& cfg, bool allow_anonymous) {
    auto load = [](const std::string& password_file, const std::string& acl_file, bool anonymous) {
        Policy p;
        p.allow_anonymous = anonymous;
        if (!password_file.empty()) p.passwords = orThrow(auth::PasswordStore::load(password_file));
        if (!acl_file.empty()) p.acl = orThrow(auth::Acl::load(acl_file));
        return p;
    };
    global_ = load(cfg.password_file, cfg.acl_file, allow_anonymous);
    any_acl_ = global_.acl != nullptr;
    if (cfg.per_listener_settings) {
        // A listener's own settings; what it leaves unset comes from the global ones.
        for (const auto& l : cfg.listeners) {
            listeners_.push_back(load(l.password_file.value_or(cfg.password_file), l.acl_file.value_or(cfg.acl_file),
                                      l.allow_anonymous.value_or(allow_anonymous)));
            any_acl_ = any_acl_ || listeners_.back().acl != nullptr;
        }
    }
    if (cfg.jwt.enabled()) {
        jwt_ = orThrow(auth::JwtVerifier::create(cfg.jwt));
        // Keys of jwt_jwks_file left out (encryption keys, other curves...): normal in a provider's set, but an
        // operator wondering why a kid is unknown looks here.
        for (const auto& note : jwt_->notes())
            spdlog::info("JWT: {}.", note);
    }
}

Security::Decision Security::authenticate(std::string_view client_id, std::optional<std::string_view> username,
                                          std::optional<std::string_view> password,
                                          std::string_view certificate_identity, size_t listener) const {
    const Policy& p = policy(listener);
    Decision d;
    d.grants.listener = listener;
    if (!certificate_identity.empty()) {
        d.verdict = Verdict::kOk;
        d.grants.username = std::string(certificate_identity);
        return d;
    }
    if (password && jwt_ && auth::JwtVerifier::looksLikeJwt(*password)) {
        auto token = jwt_->verify(*password);
        if (!token) {
            d.verdict = Verdict::kBadCredentials;
            d.why = "token refused: " + token.error().message;
            return d;
        }
        d.verdict = Verdict::kOk;
        d.grants.username = token->username;
        d.grants.token = std::make_shared<const auth::TokenIdentity>(std::move(*token));
        return d;
    }
    if (!username) {
        if (p.allow_anonymous) {
            d.verdict = Verdict::kOk;
        } else {
            d.verdict = Verdict::kNotAuthorized;
            d.why = "anonymous access is not allowed";
        }
        return d;
    }
    if (!p.passwords) {
        // A username but nothing to check it against: Mosquitto treats the client as anonymous.
        d.verdict = p.allow_anonymous ? Verdict::kOk : Verdict::kNotAuthorized;
        d.grants.username = std::string(*username);
        if (!p.allow_anonymous) d.why = "no password_file, and anonymous access is not allowed";
        return d;
    }
    switch (p.passwords->check(*username, password.value_or(""))) {
        case auth::PasswordStore::Check::kOk:
            d.verdict = Verdict::kOk;
            d.grants.username = std::string(*username);
            return d;
        case auth::PasswordStore::Check::kUnknownUser:
            d.verdict = Verdict::kBadCredentials;
            d.why = "unknown user '" + std::string(*username) + "'";
            return d;
        case auth::PasswordStore::Check::kBadPassword:
            d.verdict = Verdict::kBadCredentials;
            d.why = "wrong password for user '" + std::string(*username) + "'";
            return d;
    }
    return d;
}

std::unique_ptr<AuthExchange> Security::beginAuth(std::string_view method, size_t listener) const {
    const Policy& p = policy(listener);
    if (method == "SCRAM-SHA-256" && p.passwords) return std::make_unique<ScramExchange>(p.passwords);
    return nullptr;
}

bool Security::canPublish(std::string_view client_id, const Grants& g, std::string_view topic) const {
    if (g.token && !g.token->canPublish(topic)) return false;
    const auto& acl = policy(g.listener).acl;
    if (!acl) return true;
    auth::Client c{client_id, g.username.empty() ? std::nullopt : std::optional<std::string_view>(g.username)};
    return acl->canPublish(c, topic);
}

bool Security::canSubscribe(std::string_view client_id, const Grants& g, std::string_view filter) const {
    if (g.token && !g.token->canSubscribe(filter)) return false;
    const auto& acl = policy(g.listener).acl;
    if (!acl) return true;
    auth::Client c{client_id, g.username.empty() ? std::nullopt : std::optional<std::string_view>(g.username)};
    return acl->canSubscribe(c, filter);
}

bool Security::canReceive(std::string_view client_id, const Grants& g, std::string_view topic) const {
    if (g.token && !g.token->canReceive(topic)) return false;
    const auto& acl = policy(g.listener).acl;
    if (!acl) return true;
    auth::Client c{client_id, g.username.empty() ? std::nullopt : std::optional<std::string_view>(g.username)};
    return acl->canReceive(c, topic);
}

}  // namespace starling::broker
