#pragma once
// PINGREQ and PINGRESP [MQTT 5.0 sections 3.12, 3.13]: a fixed header and nothing else.
#include "protocol/types.hpp"

namespace starling::protocol {

struct Pingreq {};
struct Pingresp {};

// Refuses non-zero flags or a non-empty body.
DecodeResult<Pingreq> decodePingreq(uint8_t flags, ByteSpan body);
DecodeResult<Pingresp> decodePingresp(uint8_t flags, ByteSpan body);
void encodePingreq(Bytes& out);
void encodePingresp(Bytes& out);

}  // namespace starling::protocol
