#pragma once
// Any control packet, and one entry point that decodes a frame by its type. Pure; any thread.
#include <variant>

#include "protocol/auth.hpp"
#include "protocol/connack.hpp"
#include "protocol/connect.hpp"
#include "protocol/disconnect.hpp"
#include "protocol/frame.hpp"
#include "protocol/ping.hpp"
#include "protocol/pub_ack.hpp"
#include "protocol/publish.hpp"
#include "protocol/suback.hpp"
#include "protocol/subscribe.hpp"
#include "protocol/unsuback.hpp"
#include "protocol/unsubscribe.hpp"

namespace starling::protocol {

using Packet = std::variant<Connect, Connack, Publish, PubAck, Subscribe, Suback, Unsubscribe, Unsuback, Pingreq,
                            Pingresp, Disconnect, Auth>;

// Decodes `f` as the packet its type says, for a connection speaking `v` (CONNECT ignores `v`). AUTH
// before v5 is a protocol error. Views in the result point into `f.body`.
DecodeResult<Packet> decodePacket(const Frame& f, ProtocolVersion v);
// Encodes any packet.
void encodePacket(Bytes& out, const Packet& p, ProtocolVersion v);

}  // namespace starling::protocol
