// Writes the seed corpus of the codec fuzz targets: small valid packets of every kind in every protocol
// version, made with the encoders. Run once and commit the output:
//   build/fuzz/bin/fuzz_corpus_gen tests/fuzz/corpus
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/packet.hpp"

using namespace starling::protocol;

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::vector<std::pair<std::string, Packet>> samples(ProtocolVersion v) {
    const bool v5 = v == ProtocolVersion::kV5;
    std::vector<std::pair<std::string, Packet>> out;

    Connect c;
    c.version = v;
    c.client_id = "fuzz-client";
    c.username = "user";
    c.password = "pass";
    Will w;
    w.topic = "will/topic";
    w.payload = "gone";
    w.qos = QoS::kAtLeastOnce;
    if (v5) {
        c.properties.session_expiry_interval = 60;
        c.properties.receive_maximum = 10;
        c.properties.user_properties = {{"k", "v"}};
        w.properties.will_delay_interval = 5;
        w.properties.content_type = "text/plain";
    }
    c.will = w;
    out.emplace_back("connect", c);

    Connack ca;
    ca.session_present = true;
    if (v5) {
        ca.properties.assigned_client_identifier = "auto";
        ca.properties.topic_alias_maximum = 10;
        ca.properties.maximum_qos = 1;
    }
    out.emplace_back("connack", ca);

    Publish p;
    p.topic = "sensors/room1/temperature";
    p.payload = "21.5";
    out.emplace_back("publish_qos0", p);
    p.qos = QoS::kAtLeastOnce;
    p.packet_id = 1;
    if (v5) {
        p.properties.payload_format_indicator = 1;
        p.properties.message_expiry_interval = 30;
        p.properties.response_topic = "reply/to";
        p.properties.correlation_data = "cd";
        p.properties.subscription_identifiers = {1, 2};
        p.properties.user_properties = {{"a", "b"}};
    }
    out.emplace_back("publish_qos1", p);
    p.qos = QoS::kExactlyOnce;
    p.dup = true;
    p.retain = true;
    out.emplace_back("publish_qos2", p);
    if (v5) {
        Publish alias;
        alias.topic = "";
        alias.properties.topic_alias = 3;
        alias.payload = "x";
        out.emplace_back("publish_alias", alias);
    }

    for (PacketType t : {PacketType::kPuback, PacketType::kPubrec, PacketType::kPubrel, PacketType::kPubcomp}) {
        PubAck a;
        a.type = t;
        a.packet_id = 7;
        out.emplace_back(lower(packetTypeName(t)), a);
        if (v5) {
            a.reason = t == PacketType::kPubrel || t == PacketType::kPubcomp ? ReasonCode::kPacketIdentifierNotFound
                                                                             : ReasonCode::kNoMatchingSubscribers;
            a.properties.reason_string = "why";
            out.emplace_back(lower(packetTypeName(t)) + "_reason", a);
        }
    }

    Subscribe s;
    s.packet_id = 2;
    s.topics = {{"sport/+/score", {QoS::kAtLeastOnce}}, {"$share/g/#", {QoS::kExactlyOnce}}};
    if (v5) {
        s.properties.subscription_identifiers = {42};
        s.topics[0].options.no_local = true;
        s.topics[0].options.retain_as_published = true;
        s.topics[0].options.retain_handling = 2;
    }
    out.emplace_back("subscribe", s);

    Suback sa;
    sa.packet_id = 2;
    sa.codes = {0x01, 0x80};
    out.emplace_back("suback", sa);

    Unsubscribe u;
    u.packet_id = 3;
    u.filters = {"sport/+/score", "a/#"};
    out.emplace_back("unsubscribe", u);

    Unsuback ua;
    ua.packet_id = 3;
    if (v5) ua.codes = {0x00, 0x11};
    out.emplace_back("unsuback", ua);

    out.emplace_back("pingreq", Pingreq{});
    out.emplace_back("pingresp", Pingresp{});

    Disconnect d;
    out.emplace_back("disconnect", d);
    if (v5) {
        d.reason = ReasonCode::kDisconnectWithWillMessage;
        d.properties.session_expiry_interval = 0;
        out.emplace_back("disconnect_reason", d);
        Auth au;
        au.reason = ReasonCode::kContinueAuthentication;
        au.properties.authentication_method = "SCRAM-SHA-1";
        au.properties.authentication_data = "data";
        out.emplace_back("auth", au);
    }
    return out;
}

void write(const std::filesystem::path& file, const Bytes& bytes) {
    std::ofstream f(file, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// The decoders target's selector for a packet type.
int decoderTarget(PacketType t) {
    switch (t) {
        case PacketType::kConnect:
            return 0;
        case PacketType::kConnack:
            return 1;
        case PacketType::kPublish:
            return 2;
        case PacketType::kPuback:
        case PacketType::kPubrec:
        case PacketType::kPubrel:
        case PacketType::kPubcomp:
            return 3;
        case PacketType::kSubscribe:
            return 4;
        case PacketType::kSuback:
            return 5;
        case PacketType::kUnsubscribe:
            return 6;
        case PacketType::kUnsuback:
            return 7;
        case PacketType::kPingreq:
        case PacketType::kPingresp:
            return 8;
        case PacketType::kDisconnect:
            return 9;
        case PacketType::kAuth:
            return 10;
    }
    return 14;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 2;
    }
    const std::filesystem::path root = argv[1];
    const auto frame_dir = root / "fuzz_frame";
    const auto decoders_dir = root / "fuzz_decoders";
    std::filesystem::create_directories(frame_dir);
    std::filesystem::create_directories(decoders_dir);

    const std::pair<ProtocolVersion, const char*> versions[] = {
        {ProtocolVersion::kV31, "v31"}, {ProtocolVersion::kV311, "v311"}, {ProtocolVersion::kV5, "v5"}};
    for (size_t vi = 0; vi < 3; ++vi) {
        const auto [v, vname] = versions[vi];
        Bytes stream = {static_cast<uint8_t>(vi)};
        for (const auto& [name, packet] : samples(v)) {
            Bytes wire;
            encodePacket(wire, packet, v);
            stream.insert(stream.end(), wire.begin(), wire.end());

            Bytes framed = {static_cast<uint8_t>(vi)};
            framed.insert(framed.end(), wire.begin(), wire.end());
            write(frame_dir / (std::string(vname) + "_" + name), framed);

            // Decoders: selector, first byte, body (skipping the remaining length).
            const auto split = FrameSplitter().next(ByteSpan(wire.data(), wire.size()));
            const auto t = split.frame.type();
            Bytes direct = {static_cast<uint8_t>(decoderTarget(t) | (vi << 4)), wire[0]};
            direct.insert(direct.end(), split.frame.body.begin(), split.frame.body.end());
            write(decoders_dir / (std::string(vname) + "_" + name), direct);
            Bytes via_packet = {static_cast<uint8_t>(14 | (vi << 4)), wire[0]};
            via_packet.insert(via_packet.end(), split.frame.body.begin(), split.frame.body.end());
            write(decoders_dir / (std::string(vname) + "_packet_" + name), via_packet);
        }
        write(frame_dir / (std::string(vname) + "_stream"), stream);
    }

    // Properties blocks, topics, primitives and the splitter alone.
    Properties props;
    props.payload_format_indicator = 1;
    props.subscription_identifiers = {300};
    props.user_properties = {{"name", "value"}};
    Bytes block = {11, static_cast<uint8_t>(PropertyContext::kPublish)};
    encodeProperties(block, props);
    write(decoders_dir / "properties_publish", block);
    const std::string topics = "sport/+/score/#sport/tennis/score/1";
    Bytes topic = {12, 15};
    topic.insert(topic.end(), topics.begin(), topics.end());
    write(decoders_dir / "topics", topic);
    const std::string shared = "$share/group/a/+$SYS/x";
    Bytes share = {12, 16};
    share.insert(share.end(), shared.begin(), shared.end());
    write(decoders_dir / "topics_shared", share);
    write(decoders_dir / "primitives", Bytes{13, 0, 0xC1, 0x02, 0x00, 0x03, 0xE2, 0x82, 0xAC, 0xFF, 0xFF, 0x7F});
    write(decoders_dir / "splitter", Bytes{15, 0, 0x30, 0x05, 0x00, 0x01, 'a', 'h', 'i'});
    return 0;
}
