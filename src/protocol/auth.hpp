#pragma once
// AUTH [MQTT 5.0 section 3.15]: MQTT 5 only.
#include "protocol/properties.hpp"
#include "protocol/types.hpp"

namespace starling::protocol {

struct Auth {
    ReasonCode reason = ReasonCode::kSuccess;  // kSuccess, kContinueAuthentication or kReAuthenticate
    Properties properties;
};

DecodeResult<Auth> decodeAuth(uint8_t flags, ByteSpan body);
void encodeAuth(Bytes& out, const Auth& a);

}  // namespace starling::protocol
