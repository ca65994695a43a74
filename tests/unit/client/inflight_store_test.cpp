#include <gtest/gtest.h>

#include "client/inflight_store.hpp"

using namespace starling;
using starling::client::InflightStore;

TEST(InflightStore, WindowHoldsBackAndResendSetsDup) {
    InflightStore s(2);
    for (uint16_t id = 1; id <= 3; ++id)
        s.add(id, protocol::QoS::kAtLeastOnce, protocol::Bytes{0x32, static_cast<uint8_t>(id)});
    std::vector<protocol::Bytes> sent;
    s.drain([&](const protocol::Bytes& b) { sent.push_back(b); });
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_TRUE(s.onPuback(1));
    EXPECT_FALSE(s.onPuback(1));
    s.drain([&](const protocol::Bytes& b) { sent.push_back(b); });
    ASSERT_EQ(sent.size(), 3u);
    sent.clear();
    s.resend([&](const protocol::Bytes& b) { sent.push_back(b); }, [](uint16_t) {});
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0][0], 0x3A);  // DUP set
    EXPECT_EQ(sent[0][1], 2);
}

TEST(InflightStore, QoS2GoesThroughPubrecThenPubcomp) {
    InflightStore s(10);
    s.add(5, protocol::QoS::kExactlyOnce, protocol::Bytes{0x34, 5});
    s.drain([](const protocol::Bytes&) {});
    bool completed = false;
    EXPECT_FALSE(s.onPuback(5));
    EXPECT_TRUE(s.onPubrec(5, false, completed));
    std::vector<uint16_t> rel;
    s.resend([](const protocol::Bytes&) { FAIL(); }, [&](uint16_t id) { rel.push_back(id); });
    EXPECT_EQ(rel, std::vector<uint16_t>{5});
    EXPECT_TRUE(s.onPubcomp(5));
    EXPECT_EQ(s.size(), 0u);
}
