// The hot paths allocate nothing (beyond the Properties vectors when a packet carries repeatable
// properties): decodePublish, encodePublish / encodePublishHeader into a reserved buffer, topicMatches,
// FrameSplitter::next and decodeVarint. Counted with a replaced global operator new.
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>

#include "codec_test_util.hpp"
#include "protocol/topic.hpp"

namespace {
thread_local bool g_counting = false;
thread_local size_t g_allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
    if (g_counting) ++g_allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace starling::protocol {
namespace {

// Allocations made by `f`.
template <class F>
size_t allocationsIn(F&& f) {
    g_allocations = 0;
    g_counting = true;
    f();
    g_counting = false;
    return g_allocations;
}

TEST(HotPath, DecodePublishDoesNotAllocate) {
    for (auto v : test::kAllVersions) {
        Publish p;
        p.qos = QoS::kAtLeastOnce;
        p.packet_id = 5;
        p.topic = "sensors/room1/temperature";
        p.payload = "21.5";
        if (v == ProtocolVersion::kV5) {
            p.properties.message_expiry_interval = 10;
            p.properties.content_type = "text/plain";
            p.properties.topic_alias = 4;
        }
        Bytes wire = test::encoded(p, v);
        Frame f = FrameSplitter().next(test::span(wire)).frame;
        bool ok = false;
        EXPECT_EQ(allocationsIn([&] {
                      auto d = decodePublish(f.flags(), f.body, v);
                      ok = d.ok();
                  }),
                  0u)
            << protocolVersionName(v);
        EXPECT_TRUE(ok);
    }
}

// The control: a repeatable property does allocate, so the counter is live.
TEST(HotPath, UserPropertiesAllocate) {
    Publish p;
    p.topic = "t";
    p.properties.user_properties = {{"k", "v"}};
    Bytes wire = test::encoded(p, ProtocolVersion::kV5);
    Frame f = FrameSplitter().next(test::span(wire)).frame;
    EXPECT_GT(allocationsIn([&] { (void)decodePublish(f.flags(), f.body, ProtocolVersion::kV5); }), 0u);
}

TEST(HotPath, EncodePublishIntoReservedBufferDoesNotAllocate) {
    Publish p;
    p.qos = QoS::kExactlyOnce;
    p.packet_id = 9;
    p.topic = "a/b";
    p.payload = "payload";
    p.properties.subscription_identifiers = {3};
    p.properties.user_properties = {{"k", "v"}};
    Bytes out;
    out.reserve(1024);
    EXPECT_EQ(allocationsIn([&] {
                  for (auto v : test::kAllVersions) {
                      encodePublish(out, p, v);
                      encodePublishHeader(out, p, 20, 1000, v);
                  }
              }),
              0u);
}

TEST(HotPath, MatchingSplittingAndVarintsDoNotAllocate) {
    Bytes stream = test::wire({0x30, 0x05, 0x00, 0x01, 'a', 'h', 'i', 0xC0, 0x00});
    size_t frames = 0;
    bool matched = false;
    EXPECT_EQ(allocationsIn([&] {
                  matched = topicMatches("sport/+/player/#", "sport/tennis/player/1") &&
                            isValidTopicName("sport/tennis") && isValidTopicFilter("sport/#");
                  FrameSplitter s;
                  ByteSpan rest = test::span(stream);
                  for (SplitResult r = s.next(rest); r.status == SplitStatus::kFrame; r = s.next(rest)) {
                      ++frames;
                      rest = rest.subspan(r.frame.size);
                  }
                  (void)decodeVarint(test::span(stream));
              }),
              0u);
    EXPECT_TRUE(matched);
    EXPECT_EQ(frames, 2u);
}

}  // namespace
}  // namespace starling::protocol
