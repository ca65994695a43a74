// libFuzzer target: a byte stream through the FrameSplitter and decodePacket, in every protocol version.
// Input: byte 0 picks the version (low 2 bits) and the maximum packet size (high 6 bits: 0 = default,
// else n * 8 bytes); the rest is the stream. Every decoded packet is re-encoded and decoded again.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"

using namespace starling::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const ProtocolVersion v = fuzz::versionFrom(data[0] & 0x03);
    FrameSplitter splitter;
    if (data[0] >> 2) splitter.setMaxPacketSize(uint32_t(data[0] >> 2) * 8);
    ByteSpan rest(data + 1, size - 1);

    bool first = true;
    while (!rest.empty()) {
        SplitResult r = splitter.next(rest);
        if (r.status == SplitStatus::kError) {
            if (r.error.rule == nullptr) fuzz::fail("error without a rule");
            break;
        }
        if (r.status == SplitStatus::kNeedMore) {
            if (r.needed != 0 && r.needed <= rest.size()) fuzz::fail("needs bytes it already has");
            break;
        }
        const Frame& f = r.frame;
        if (f.size > rest.size() || f.size > splitter.maxPacketSize()) fuzz::fail("frame larger than allowed");
        if (f.body.data() < rest.data() || f.body.data() + f.body.size() != rest.data() + f.size) {
            fuzz::fail("frame body is not the tail of the frame");
        }
        if (first) {
            // Any shorter prefix of a frame is incomplete (or refused as too large while its length is read).
            for (size_t n = 0; n < f.size; n = n < 6 ? n + 1 : (n < f.size - 1 ? f.size - 1 : f.size)) {
                SplitResult p = splitter.next(rest.first(n));
                if (p.status == SplitStatus::kFrame) fuzz::fail("frame found in a prefix");
            }
            first = false;
        }
        auto packet = decodePacket(f, v);
        if (packet) {
            fuzz::checkRoundTrip(*packet, v);
        } else if (packet.error().rule == nullptr) {
            fuzz::fail("refusal without a rule");
        }
        rest = rest.subspan(f.size);
    }
    return 0;
}
