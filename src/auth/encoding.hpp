#pragma once
// Small codecs and digests on OpenSSL that authentication and the HTTP server share: standard base64 (RFC 4648
// section 4, padded), SHA-256 and a comparison whose time does not depend on where two secrets differ.
#include <optional>
#include <string>
#include <string_view>

namespace starling::auth {

std::string base64Encode(std::string_view raw);
// Nothing for text that is not padded base64.
std::optional<std::string> base64Decode(std::string_view text);
std::string sha256(std::string_view data);
// Equal sizes and bytes, compared in time independent of where they differ (the size is not secret).
bool equalConstantTime(std::string_view a, std::string_view b);

}  // namespace starling::auth
