// Decoding a frame by its packet type, encoding any packet.
#include "protocol/packet.hpp"

namespace starling::protocol {

namespace {

template <class T>
DecodeResult<Packet> wrap(DecodeResult<T>&& r) {
    if (!r) return unexpected(r.error());
    return Packet(std::move(r).value());
}

}  // namespace

DecodeResult<Packet> decodePacket(const Frame& f, ProtocolVersion v) {
    const uint8_t flags = f.flags();
    switch (f.type()) {
        case PacketType::kConnect:
            return wrap(decodeConnect(flags, f.body));
        case PacketType::kConnack:
            return wrap(decodeConnack(flags, f.body, v));
        case PacketType::kPublish:
            return wrap(decodePublish(flags, f.body, v));
        case PacketType::kPuback:
        case PacketType::kPubrec:
        case PacketType::kPubrel:
        case PacketType::kPubcomp:
            return wrap(decodePubAck(f.first_byte, f.body, v));
        case PacketType::kSubscribe:
            return wrap(decodeSubscribe(flags, f.body, v));
        case PacketType::kSuback:
            return wrap(decodeSuback(flags, f.body, v));
        case PacketType::kUnsubscribe:
            return wrap(decodeUnsubscribe(flags, f.body, v));
        case PacketType::kUnsuback:
            return wrap(decodeUnsuback(flags, f.body, v));
        case PacketType::kPingreq:
            return wrap(decodePingreq(flags, f.body));
        case PacketType::kPingresp:
            return wrap(decodePingresp(flags, f.body));
        case PacketType::kDisconnect:
            return wrap(decodeDisconnect(flags, f.body, v));
        case PacketType::kAuth:
            if (v != ProtocolVersion::kV5)
                return protocolError("[MQTT 5.0 3.15] AUTH before MQTT 5 (reserved type 15)");
            return wrap(decodeAuth(flags, f.body));
    }
    return malformed("[MQTT 5.0 2.1.2] reserved packet type 0");
}

void encodePacket(Bytes& out, const Packet& p, ProtocolVersion v) {
    struct Encoder {
        Bytes& out;
        ProtocolVersion v;
        void operator()(const Connect& c) const { encodeConnect(out, c); }
        void operator()(const Connack& c) const { encodeConnack(out, c, v); }
        void operator()(const Publish& x) const { encodePublish(out, x, v); }
        void operator()(const PubAck& x) const { encodePubAck(out, x, v); }
        void operator()(const Subscribe& x) const { encodeSubscribe(out, x, v); }
        void operator()(const Suback& x) const { encodeSuback(out, x, v); }
        void operator()(const Unsubscribe& x) const { encodeUnsubscribe(out, x, v); }
        void operator()(const Unsuback& x) const { encodeUnsuback(out, x, v); }
        void operator()(const Pingreq&) const { encodePingreq(out); }
        void operator()(const Pingresp&) const { encodePingresp(out); }
        void operator()(const Disconnect& x) const { encodeDisconnect(out, x, v); }
        void operator()(const Auth& x) const { encodeAuth(out, x); }
    };
    std::visit(Encoder{out, v}, p);
}

}  // namespace starling::protocol
