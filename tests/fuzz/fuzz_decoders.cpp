// libFuzzer target: every decoder of the codec called directly on arbitrary bytes, with arbitrary
// fixed-header flags, plus the primitive readers and the topic functions.
// Input: byte 0 = low nibble picks the target, high nibble picks the version; byte 1 = flags / first byte
// / property context / split point; the rest is the body.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_common.hpp"
#include "protocol/topic.hpp"

using namespace starling::protocol;

namespace {

template <class T>
void check(const DecodeResult<T>& r, ProtocolVersion v) {
    if (r) {
        fuzz::checkRoundTrip(Packet(*r), v);
    } else if (r.error().rule == nullptr) {
        fuzz::fail("refusal without a rule");
    }
}

void fuzzTopics(std::string_view a, std::string_view b) {
    const bool name_a = isValidTopicName(a);
    const bool name_b = isValidTopicName(b);
    const bool filter_a = isValidTopicFilter(a);
    auto shared = parseSharedSubscription(a);
    if (shared && !filter_a) fuzz::fail("parsed a shared subscription that is not a valid filter");
    // The filter after the ShareName is an ordinary filter, even when it starts with "$share/" itself.
    if (shared && !shared->filter.starts_with("$share/") && !isValidTopicFilter(shared->filter)) {
        fuzz::fail("shared subscription with an invalid filter");
    }
    if (filter_a && !shared && name_b) {
        bool m = topicMatches(a, b);
        if (a == "#" && b[0] != '$' && !m) fuzz::fail("'#' does not match a non-$ topic");
    }
    if (name_a && !a.starts_with("$share/")) {
        if (!filter_a) fuzz::fail("a topic name is not a valid filter");
        if (!topicMatches(a, a)) fuzz::fail("a topic does not match itself");
    }
    size_t levels = 0;
    TopicLevels it(a);
    while (it.next())
        ++levels;
    if (levels == 0) fuzz::fail("no levels");
}

void fuzzPrimitives(ByteSpan body) {
    auto d = decodeVarint(body);
    if (d.status == VarintStatus::kOk) {
        if (d.length != varintSize(d.value) || d.value > kMaxVarint) fuzz::fail("varint not minimal");
        Bytes out;
        appendVarint(out, d.value);
        if (out.size() != d.length || !std::equal(out.begin(), out.end(), body.begin())) {
            fuzz::fail("varint does not re-encode to its input");
        }
    }
    Reader r(body);
    while (!r.empty()) {
        const size_t before = r.remaining();
        switch (r.remaining() % 7) {
            case 0:
                (void)r.u8();
                break;
            case 1:
                (void)r.u16();
                break;
            case 2:
                (void)r.u32();
                break;
            case 3:
                (void)r.varint();
                break;
            case 4:
                (void)r.binary();
                break;
            case 5:
                if (auto s = r.utf8(); s && !isValidUtf8(*s)) fuzz::fail("utf8() returned invalid UTF-8");
                break;
            default:
                (void)r.take(3);
                break;
        }
        if (r.remaining() == before && !r.u8()) fuzz::fail("reader stuck");
    }
    (void)isValidUtf8(std::string_view(reinterpret_cast<const char*>(body.data()), body.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const uint8_t target = data[0] & 0x0F;
    const ProtocolVersion v = fuzz::versionFrom(data[0] >> 4);
    const uint8_t arg = data[1];
    const uint8_t flags = arg & 0x0F;
    const ByteSpan body(data + 2, size - 2);
    const std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());

    switch (target) {
        case 0:
            check(decodeConnect(flags, body), v);
            break;
        case 1:
            check(decodeConnack(flags, body, v), v);
            break;
        case 2:
            check(decodePublish(flags, body, v), v);
            break;
        case 3:
            check(decodePubAck(arg, body, v), v);
            break;
        case 4:
            check(decodeSubscribe(flags, body, v), v);
            break;
        case 5:
            check(decodeSuback(flags, body, v), v);
            break;
        case 6:
            check(decodeUnsubscribe(flags, body, v), v);
            break;
        case 7:
            check(decodeUnsuback(flags, body, v), v);
            break;
        case 8:
            check(decodePingreq(flags, body), v);
            check(decodePingresp(flags, body), v);
            break;
        case 9:
            check(decodeDisconnect(flags, body, v), v);
            break;
        case 10:
            check(decodeAuth(flags, body), ProtocolVersion::kV5);
            break;
        case 11: {
            const auto ctx = static_cast<PropertyContext>(arg % 14);
            Reader r(body);
            auto p = decodeProperties(r, ctx);
            if (p) {
                Bytes out;
                encodeProperties(out, *p);
                Reader again(ByteSpan(out.data(), out.size()));
                auto q = decodeProperties(again, ctx);
                if (!q || !again.empty()) fuzz::fail("re-encoded properties refused");
                if (!(*q == *p)) fuzz::fail("properties changed in a round trip");
                if (propertiesSize(*p) + varintSize(uint32_t(propertiesSize(*p))) != out.size()) {
                    fuzz::fail("propertiesSize disagrees with encodeProperties");
                }
            }
            break;
        }
        case 12: {
            const size_t cut = text.empty() ? 0 : arg % (text.size() + 1);
            fuzzTopics(text.substr(0, cut), text.substr(cut));
            fuzzTopics(text.substr(cut), text.substr(0, cut));
            break;
        }
        case 13:
            fuzzPrimitives(body);
            break;
        case 14: {
            Frame f;
            f.first_byte = arg;
            f.body = body;
            f.size = body.size() + 2;
            if (f.type() == PacketType(0)) break;
            auto p = decodePacket(f, v);
            if (p) fuzz::checkRoundTrip(*p, v);
            break;
        }
        default: {
            FrameSplitter s(arg == 0 ? kMaxVarint + 5 : uint32_t(arg) * 4);
            auto r = s.next(body);
            if (r.status == SplitStatus::kFrame && r.frame.size > s.maxPacketSize()) fuzz::fail("too large");
            break;
        }
    }
    return 0;
}
