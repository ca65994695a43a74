#include "auth/scram.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <vector>

#include "auth/encoding.hpp"

namespace starling::auth {

namespace {

std::string hmac(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
}

std::optional<std::string> randomBytes(size_t n) {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) return std::nullopt;
    return out;
}

// "a=1,b=2" attribute lists; the value of `key`, if present.
std::optional<std::string_view> attribute(std::string_view list, char key) {
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        if (item.size() >= 2 && item[0] == key && item[1] == '=') return item.substr(2);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return std::nullopt;
}

// RFC 5802 saslname: "=2C" is ',' and "=3D" is '='; any other '=' is an error.
std::optional<std::string> decodeSaslName(std::string_view name) {
    std::string out;
    for (size_t i = 0; i < name.size(); ++i) {
        if (name[i] != '=') {
            out += name[i];
        } else if (name.substr(i, 3) == "=2C") {
            out += ',';
            i += 2;
        } else if (name.substr(i, 3) == "=3D") {
            out += '=';
            i += 2;
        } else {
            return std::nullopt;
        }
    }
    return out;
}

// A stable fake credential for unknown users, so the exchange looks the same for them.
ScramCredential decoy(std::string_view username) {
    static const std::string secret = randomBytes(32).value_or(std::string(32, 'x'));
    ScramCredential c;
    c.iterations = kDefaultScramIterations;
    c.salt = hmac(secret, username).substr(0, 16);
    c.stored_key = hmac(secret, std::string("stored") + std::string(username));
    c.server_key = hmac(secret, std::string("server") + std::string(username));
    return c;
}

}  // namespace

ScramCredential scramCredential(std::string_view password, std::string_view salt, int iterations) {
    unsigned char salted[SHA256_DIGEST_LENGTH];
    PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                      reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations,
                      EVP_sha256(), sizeof salted, salted);
    std::string salted_password(reinterpret_cast<char*>(salted), sizeof salted);
    ScramCredential c;
    c.iterations = iterations;
    c.salt = std::string(salt);
    c.stored_key = sha256(hmac(salted_password, "Client Key"));
    c.server_key = hmac(salted_password, "Server Key");
    return c;
}

std::optional<std::string> makeScramVerifier(std::string_view password, int iterations) {
    auto salt = randomBytes(16);
    if (!salt || iterations < 1) return std::nullopt;
    ScramCredential c = scramCredential(password, *salt, iterations);
    return std::string(kScramPrefix) + std::to_string(iterations) + "$" + base64Encode(c.salt) + "$" +
           base64Encode(c.stored_key) + "$" + base64Encode(c.server_key);
}

std::optional<ScramCredential> parseScramVerifier(std::string_view encoded) {
    if (!encoded.starts_with(kScramPrefix)) return std::nullopt;
    std::string_view rest = encoded.substr(kScramPrefix.size());
    std::vector<std::string_view> parts;
    while (true) {
        size_t d = rest.find('$');
        parts.push_back(rest.substr(0, d));
        if (d == std::string_view::npos) break;
        rest.remove_prefix(d + 1);
    }
    if (parts.size() != 4) return std::nullopt;
    ScramCredential c;
    try {
        c.iterations = std::stoi(std::string(parts[0]));
    } catch (...) {
        return std::nullopt;
    }
    auto salt = base64Decode(parts[1]), stored = base64Decode(parts[2]), server = base64Decode(parts[3]);
    if (c.iterations < 1 || !salt || !stored || !server || stored->size() != 32 || server->size() != 32)
        return std::nullopt;
    c.salt = *salt;
    c.stored_key = *stored;
    c.server_key = *server;
    return c;
}

bool verifyScramVerifier(std::string_view encoded, std::string_view password) {
    auto c = parseScramVerifier(encoded);
    if (!c) return false;
    return equalConstantTime(scramCredential(password, c->salt, c->iterations).stored_key, c->stored_key);
}

ScramServer::ScramServer(Lookup lookup, std::string nonce) : lookup_(std::move(lookup)), nonce_(std::move(nonce)) {
    if (nonce_.empty()) nonce_ = base64Encode(randomBytes(18).value_or(std::string(18, 'n')));
}

ScramServer::Step ScramServer::clientFirst(std::string_view m) {
    Step step;
    if (started_) return step.error = "client-first-message sent twice", step;
    started_ = true;
    // gs2-header: "n,," (no channel binding) or "y,,"; "p=" asks for channel binding, which MQTT cannot give.
    if (!(m.starts_with("n,") || m.starts_with("y,"))) return step.error = "channel binding not supported", step;
    size_t second = m.find(',', 2);
    if (second == std::string_view::npos) return step.error = "malformed client-first-message", step;
    if (second != 2) return step.error = "authorization identity not supported", step;
    client_first_bare_ = std::string(m.substr(second + 1));
    auto n = attribute(client_first_bare_, 'n');
    auto r = attribute(client_first_bare_, 'r');
    if (!client_first_bare_.starts_with("n=") || !n || !r || r->empty())
        return step.error = "malformed client-first-message", step;
    auto name = decodeSaslName(*n);
    if (!name || name->empty()) return step.error = "malformed user name", step;
    username_ = *name;
    credential_ = lookup_(username_);
    const ScramCredential& c = credential_ ? *credential_ : decoy(username_);
    full_nonce_ = std::string(*r) + nonce_;
    server_first_ = "r=" + full_nonce_ + ",s=" + base64Encode(c.salt) + ",i=" + std::to_string(c.iterations);
    step.status = Step::kContinue;
    step.data = server_first_;
    return step;
}

ScramServer::Step ScramServer::clientFinal(std::string_view m) {
    Step step;
    if (!started_ || server_first_.empty()) return step.error = "client-final-message before client-first", step;
    auto c = attribute(m, 'c');
    auto r = attribute(m, 'r');
    size_t proof_at = m.rfind(",p=");
    if (!c || !r || proof_at == std::string_view::npos) return step.error = "malformed client-final-message", step;
    if (*c != "biws" && *c != "eSws") return step.error = "channel binding data mismatch", step;
    if (*r != full_nonce_) return step.error = "nonce mismatch", step;
    auto proof = base64Decode(m.substr(proof_at + 3));
    if (!proof || proof->size() != 32) return step.error = "malformed client proof", step;
    std::string auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(m.substr(0, proof_at));
    if (!credential_) return step.error = "unknown user '" + username_ + "'", step;
    std::string signature = hmac(credential_->stored_key, auth_message);
    std::string client_key(32, '\0');
    for (size_t i = 0; i < 32; ++i)
        client_key[i] = static_cast<char>((*proof)[i] ^ signature[i]);
    if (!equalConstantTime(sha256(client_key), credential_->stored_key))
        return step.error = "wrong password for user '" + username_ + "'", step;
    step.status = Step::kSuccess;
    step.data = "v=" + base64Encode(hmac(credential_->server_key, auth_message));
    step.username = username_;
    return step;
}

}  // namespace starling::auth
