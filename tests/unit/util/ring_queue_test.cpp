#include "util/ring_queue.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace starling {
namespace {

template <class T>
std::vector<T> contents(const RingQueue<T>& q) {
    return std::vector<T>(q.begin(), q.end());
}

TEST(RingQueue, EmptyQueueOwnsNoMemory) {
    RingQueue<std::string> q;
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.capacity(), 0u);
    EXPECT_EQ(q.begin(), q.end());
}

TEST(RingQueue, KeepsFifoOrderAcrossWrapAndGrowth) {
    RingQueue<int> q;
    std::deque<int> model;
    int next = 0;
    // Pushes outpace pops, so the ring wraps around at every capacity before it grows.
    for (int round = 0; round < 200; ++round) {
        for (int i = 0; i < 3; ++i) {
            q.push_back(next);
            model.push_back(next++);
        }
        q.pop_front();
        model.pop_front();
        ASSERT_EQ(q.front(), model.front());
        ASSERT_EQ(q.back(), model.back());
    }
    EXPECT_EQ(contents(q), std::vector<int>(model.begin(), model.end()));
}

TEST(RingQueue, GivesMemoryBackWhenEmptied) {
    RingQueue<std::string> q;
    q.push_back("a");
    q.push_back("b");
    EXPECT_GT(q.capacity(), 0u);
    q.pop_front();
    q.pop_front();
    EXPECT_EQ(q.capacity(), 0u);
    q.push_back("c");
    EXPECT_EQ(q.front(), "c");
}

TEST(RingQueue, EraseKeepsTheOrderOfTheOthers) {
    for (int erased = 0; erased < 7; ++erased) {
        RingQueue<int> q;
        std::vector<int> model;
        q.push_back(-1);
        q.pop_front();  // the ring no longer starts at slot 0
        for (int i = 0; i < 7; ++i) {
            q.push_back(i);
            model.push_back(i);
        }
        auto it = q.begin();
        for (int i = 0; i < erased; ++i)
            ++it;
        it = q.erase(it);
        model.erase(model.begin() + erased);
        EXPECT_EQ(contents(q), model) << "erased " << erased;
        if (erased + 1 < 7) {
            EXPECT_EQ(*it, erased + 1);
        } else {
            EXPECT_EQ(it, q.end());
        }
    }
}

TEST(RingQueue, EraseWhileIteratingVisitsEveryElementOnce) {
    RingQueue<int> q;
    for (int i = 0; i < 10; ++i)
        q.push_back(i);
    std::vector<int> seen;
    for (auto it = q.begin(); it != q.end();) {
        seen.push_back(*it);
        it = *it % 3 == 0 ? q.erase(it) : std::next(it);
    }
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    EXPECT_EQ(contents(q), (std::vector<int>{1, 2, 4, 5, 7, 8}));
}

TEST(RingQueue, DestroysWhatItHolds) {
    auto counted = std::make_shared<int>(0);
    {
        RingQueue<std::shared_ptr<int>> q;
        for (int i = 0; i < 5; ++i)
            q.push_back(counted);
        q.erase(std::next(q.begin(), 2));
        q.pop_front();
        EXPECT_EQ(counted.use_count(), 4);
        RingQueue<std::shared_ptr<int>> moved(std::move(q));
        EXPECT_TRUE(q.empty());
        EXPECT_EQ(counted.use_count(), 4);
    }
    EXPECT_EQ(counted.use_count(), 1);
}

}  // namespace
}  // namespace starling
