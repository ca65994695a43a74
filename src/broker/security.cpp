#include "broker/security.hpp"

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

Security::Security(const config::Config& cfg, bool allow_anonymous) : allow_anonymous_(allow_anonymous) {
    if (!cfg.password_file.empty()) passwords_ = orThrow(auth::PasswordStore::load(cfg.password_file));
    if (!cfg.acl_file.empty()) acl_ = orThrow(auth::Acl::load(cfg.acl_file));
    if (cfg.jwt.enabled()) jwt_ = orThrow(auth::JwtVerifier::create(cfg.jwt));
}

Security::Decision Security::authenticate(std::string_view client_id, std::optional<std::string_view> username,
                                          std::optional<std::string_view> password,
                                          std::string_view certificate_identity) const {
    Decision d;
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
        d.grants.token = std::move(*token);
        return d;
    }
    if (!username) {
        if (allow_anonymous_) {
            d.verdict = Verdict::kOk;
        } else {
            d.verdict = Verdict::kNotAuthorized;
            d.why = "anonymous access is not allowed";
        }
        return d;
    }
    if (!passwords_) {
        // A username but nothing to check it against: Mosquitto treats the client as anonymous.
        d.verdict = allow_anonymous_ ? Verdict::kOk : Verdict::kNotAuthorized;
        d.grants.username = std::string(*username);
        if (!allow_anonymous_) d.why = "no password_file, and anonymous access is not allowed";
        return d;
    }
    switch (passwords_->check(*username, password.value_or(""))) {
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

std::unique_ptr<AuthExchange> Security::beginAuth(std::string_view method) const {
    if (method == "SCRAM-SHA-256" && passwords_) return std::make_unique<ScramExchange>(passwords_);
    return nullptr;
}

bool Security::canPublish(std::string_view client_id, const Grants& g, std::string_view topic) const {
    if (g.token && !g.token->canPublish(topic)) return false;
    if (!acl_) return true;
    auth::Client c{client_id, g.username.empty() ? std::nullopt : std::optional<std::string_view>(g.username)};
    return acl_->canPublish(c, topic);
}

bool Security::canSubscribe(std::string_view client_id, const Grants& g, std::string_view filter) const {
    if (g.token && !g.token->canSubscribe(filter)) return false;
    if (!acl_) return true;
    auth::Client c{client_id, g.username.empty() ? std::nullopt : std::optional<std::string_view>(g.username)};
    return acl_->canSubscribe(c, filter);
}

bool Security::canReceive(std::string_view client_id, const Grants& g, std::string_view topic) const {
    if (g.token && !g.token->canReceive(topic)) return false;
    if (!acl_) return true;
    auth::Client c{client_id, g.username.empty() ? std::nullopt : std::optional<std::string_view>(g.username)};
    return acl_->canReceive(c, topic);
}

}  // namespace starling::broker
