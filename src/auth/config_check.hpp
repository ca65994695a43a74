#pragma once
// `starling --check-config`: what in a configuration leaves the broker open, in words an operator can act
// on. It reads the files the configuration names (password, ACL, JWT key and secret) but changes nothing.
// Pure apart from reading those files; any thread.
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace starling::auth {

struct Finding {
    enum class Severity { kWarning, kError };
    Severity severity;
    std::string where;  // "file:line" of the directive, a file path, or "" for the configuration as a whole
    std::string message;

    // "error: starling.conf:3: ..." as the checker prints it.
    std::string format() const;
};

// Errors: a file that cannot be read or parsed; anonymous clients on a non-loopback listener without an
// acl_file; an ACL granting every client (or every anonymous client, when they reach the network) write
// on `#`; clear-text passwords; well-known default credentials; a TLS key, JWT secret, JWT private key or JWK
// Set holding private keys readable by others; an http_auth_token file that cannot be read. Warnings: a non-loopback
// listener without TLS (no certfile); anonymous access on a non-loopback listener with an ACL; weak password hashes; a
// password, ACL or http_auth_token file readable by others; a non-loopback http_listener without http_auth_token (or,
// with one, in clear text).
std::vector<Finding> checkConfig(const config::Config& cfg);

bool hasErrors(const std::vector<Finding>& findings);

// 127.0.0.0/8, ::1, ::ffff:127.x.y.z and "localhost". An empty address (every address) is not loopback.
bool isLoopbackAddress(std::string_view address);

// The user/password pairs checkConfig() tries against the password file.
struct DefaultCredential {
    std::string_view username;
    std::string_view password;
};
extern const std::vector<DefaultCredential> kDefaultCredentials;

}  // namespace starling::auth
