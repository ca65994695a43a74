#pragma once
// Who may connect and what they may do: the password file, JWT bearer tokens, client certificates, the ACL
// file, and MQTT 5 enhanced authentication methods. Built from the config at start-up and on SIGHUP, then
// immutable; the broker swaps the whole object, so a worker never sees half of a reload. Every method is
// safe to call from any worker at once.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/acl.hpp"
#include "auth/jwt_auth.hpp"
#include "auth/password_store.hpp"
#include "auth/scram.hpp"
#include "config/config.hpp"

namespace starling::broker {

// One enhanced authentication exchange (MQTT 5.0 section 4.12): CONNECT's data, then each AUTH's.
class AuthExchange {
  public:
    virtual ~AuthExchange() = default;
    struct Step {
        enum Status { kContinue, kSuccess, kFailure } status = kFailure;
        std::string data;      // Authentication Data for the client
        std::string username;  // kSuccess: who the client is
        std::string error;     // kFailure: for the log
    };
    virtual Step step(std::string_view data) = 0;
};

// What a client may do, decided at CONNECT and kept with its session.
struct Grants {
    static constexpr size_t kNoListener = static_cast<size_t>(-1);
    std::string username;  // empty: anonymous
    // Connected with a JWT: its own topic lists apply too. Behind a pointer: most sessions have none.
    std::shared_ptr<const auth::TokenIdentity> token;
    size_t listener = kNoListener;  // per_listener_settings: whose ACL applies
};

class Security {
  public:
    // Throws std::runtime_error with file:line when a password, ACL or key file cannot be read.
    explicit Security(const config::Config& cfg, bool allow_anonymous);

    enum class Verdict { kOk, kBadCredentials, kNotAuthorized };
    struct Decision {
        Verdict verdict = Verdict::kNotAuthorized;
        Grants grants;
        std::string why;  // for the log when refused
    };
    // CONNECT: a certificate identity (use_identity_as_username) stands for the username and needs no
    // password; a password shaped like a JWT is checked as a token when JWT is configured; otherwise the
    // password file; no username at all is anonymous.
    // `listener` is the index of the listener in the config (per_listener_settings).
    Decision authenticate(std::string_view client_id, std::optional<std::string_view> username,
                          std::optional<std::string_view> password, std::string_view certificate_identity,
                          size_t listener = Grants::kNoListener) const;

    // nullptr when the method is not supported (CONNACK 0x8C).
    std::unique_ptr<AuthExchange> beginAuth(std::string_view method, size_t listener = Grants::kNoListener) const;

    bool canPublish(std::string_view client_id, const Grants& g, std::string_view topic) const;
    bool canSubscribe(std::string_view client_id, const Grants& g, std::string_view filter) const;
    bool canReceive(std::string_view client_id, const Grants& g, std::string_view topic) const;
    // False when no ACL and no token limits apply: deliveries skip the per-message check.
    bool checksDelivery() const { return any_acl_ || jwt_ != nullptr; }

  private:
    // What one listener (or, without per_listener_settings, every listener) authenticates against.
    struct Policy {
        bool allow_anonymous = false;
        std::shared_ptr<const auth::PasswordStore> passwords;
        std::shared_ptr<const auth::Acl> acl;
    };
    const Policy& policy(size_t listener) const {
        return listener < listeners_.size() ? listeners_[listener] : global_;
    }

    Policy global_;
    std::vector<Policy> listeners_;  // per_listener_settings only
    bool any_acl_ = false;
    std::shared_ptr<const auth::JwtVerifier> jwt_;
};

}  // namespace starling::broker
