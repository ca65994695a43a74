#include "broker/retained_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace starling::broker {
namespace {

MessagePtr msg(std::string_view topic, std::string_view payload) {
    Message::Init init;
    init.topic = topic;
    init.payload = payload;
    init.retain = true;
    return Message::create(init);
}

std::vector<std::string> topics(RetainedStore& s, std::string_view filter) {
    std::vector<MessagePtr> found;
    s.match(filter, found);
    std::vector<std::string> out;
    for (auto& m : found)
        out.emplace_back(m->topic());
    std::sort(out.begin(), out.end());
    return out;
}

TEST(RetainedStore, OnePerTopicReplacedByTheNext) {
    // [MQTT-3.3.1-5]
    RetainedStore s;
    (void)s.set(msg("a/b", "1"));
    (void)s.set(msg("a/b", "22"));
    std::vector<MessagePtr> found;
    s.match("a/b", found);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0]->payload(), "22");
    EXPECT_EQ(s.count(), 1u);
    EXPECT_EQ(s.bytes(), 3u + 2u);
}

TEST(RetainedStore, EmptyPayloadDeletesRetained) {
    // [MQTT-3.3.1-10]
    RetainedStore s;
    (void)s.set(msg("a/b", "1"));
    (void)s.set(msg("a/b", ""));
    EXPECT_EQ(s.count(), 0u);
    EXPECT_EQ(s.bytes(), 0u);
    EXPECT_TRUE(topics(s, "#").empty());
}

TEST(RetainedStore, WildcardLookups) {
    RetainedStore s;
    for (auto t : {"a", "a/b", "a/b/c", "a/x/c", "b", "/lead", "$SYS/x"})
        (void)s.set(msg(t, "p"));
    EXPECT_EQ(topics(s, "a/#"), (std::vector<std::string>{"a", "a/b", "a/b/c", "a/x/c"}));
    EXPECT_EQ(topics(s, "a/+/c"), (std::vector<std::string>{"a/b/c", "a/x/c"}));
    EXPECT_EQ(topics(s, "+"), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(topics(s, "+/lead"), (std::vector<std::string>{"/lead"}));
    // [MQTT-4.7.2-1] no `$` topics for leading wildcards.
    EXPECT_EQ(topics(s, "#").size(), 6u);
    EXPECT_EQ(topics(s, "+/x"), (std::vector<std::string>{}));
    EXPECT_EQ(topics(s, "$SYS/#"), (std::vector<std::string>{"$SYS/x"}));
}

std::vector<std::string> pageTopics(const RetainedStore::Page& page) {
    std::vector<std::string> out;
    for (auto& m : page.messages)
        out.emplace_back(m->topic());
    return out;
}

TEST(RetainedStore, BrowseByTextPrefixInTopicOrder) {
    RetainedStore s;
    for (auto t : {"a/bin", "a/b/c", "b/1", "a/b", "a/bc", "a", "/lead", "$SYS/x"})
        (void)s.set(msg(t, "p"));
    // A prefix of text, not of levels: "a/b" also finds "a/bc"; byte order puts "a/b/c" before "a/bc".
    auto page = s.browse("a/b", "", 10);
    EXPECT_EQ(pageTopics(page), (std::vector<std::string>{"a/b", "a/b/c", "a/bc", "a/bin"}));
    EXPECT_EQ(page.total, 4u);
    EXPECT_EQ(page.remaining, 4u);
    EXPECT_EQ(pageTopics(s.browse("a/", "", 10)).size(), 4u);  // not "a" itself
    EXPECT_EQ(pageTopics(s.browse("", "", 10)).size(), 8u);    // everything, `$` topics included
    EXPECT_EQ(pageTopics(s.browse("/", "", 10)), (std::vector<std::string>{"/lead"}));
    EXPECT_EQ(s.browse("c", "", 10).total, 0u);
    EXPECT_EQ(s.browse("a/b/c/d", "", 10).total, 0u);
}

TEST(RetainedStore, BrowsePagesFollowTheCursor) {
    RetainedStore s;
    for (int i = 9; i >= 0; --i)
        (void)s.set(msg("t/" + std::to_string(i), "p"));
    auto first = s.browse("t/", "", 4);
    EXPECT_EQ(pageTopics(first), (std::vector<std::string>{"t/0", "t/1", "t/2", "t/3"}));
    EXPECT_EQ(first.total, 10u);
    EXPECT_EQ(first.remaining, 10u);
    auto second = s.browse("t/", "t/3", 4);
    EXPECT_EQ(pageTopics(second), (std::vector<std::string>{"t/4", "t/5", "t/6", "t/7"}));
    EXPECT_EQ(second.remaining, 6u);
    auto last = s.browse("t/", "t/7", 4);
    EXPECT_EQ(pageTopics(last), (std::vector<std::string>{"t/8", "t/9"}));
    EXPECT_EQ(last.remaining, 2u);
    // A limit of 0 only counts.
    auto counted = s.browse("t/", "t/4", 0);
    EXPECT_TRUE(counted.messages.empty());
    EXPECT_EQ(counted.total, 10u);
    EXPECT_EQ(counted.remaining, 5u);
}

// The store's R records, as persistence.cpp keeps them: topic -> message. A value is
// "topic\0payload\0expiry".
class FakeDisk final : public RetainedDisk {
  public:
    std::map<std::string, std::string, std::less<>> records;
    mutable int point_reads = 0;
    mutable int scanned = 0;

    void write(const MessagePtr& m) {
        if (m->payload().empty()) {
            records.erase(std::string(m->topic()));
        } else {
            records[std::string(m->topic())] =
                std::string(m->topic()) + '\0' + std::string(m->payload()) + '\0' + std::to_string(m->expiresAtMs());
        }
    }
    bool contains(std::string_view topic) const override {
        ++point_reads;
        return records.count(topic) > 0;
    }
    MessagePtr get(std::string_view topic) const override {
        ++point_reads;
        auto it = records.find(topic);
        return it == records.end() ? MessagePtr() : decode(it->second);
    }
    void scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) const override {
        for (auto it = records.lower_bound(prefix); it != records.end() && it->first.starts_with(prefix); ++it) {
            ++scanned;
            if (!fn(it->first, it->second)) return;
        }
    }
    MessagePtr decode(std::string_view value) const override {
        size_t z = value.find('\0');
        size_t e = value.rfind('\0');
        Message::Init init;
        init.topic = value.substr(0, z);
        init.payload = value.substr(z + 1, e - z - 1);
        init.retain = true;
        init.expires_at_ms = std::stoull(std::string(value.substr(e + 1)));
        return Message::create(init);
    }
};

// A retained store bounded to about `fits` messages of topic "t/N" and a one-byte payload, over a fake disk.
struct Bounded {
    explicit Bounded(size_t fits) {
        auto d = std::make_unique<FakeDisk>();
        disk = d.get();
        store.attachDisk(std::move(d), fits * (RetainedStore::kEntryOverhead + 4));
    }
    // What a worker does: set in memory, write the record, report it written after its batch commits.
    void publish(std::string_view topic, std::string_view payload) {
        auto m = msg(topic, payload);
        if (!store.set(m)) return;  // nothing to write (a deletion of nothing)
        disk->write(m);
        EXPECT_TRUE(store.stored({m}).empty());
    }
    RetainedStore store;
    FakeDisk* disk = nullptr;
};

std::vector<std::string> payloads(RetainedStore& s, std::string_view filter) {
    std::vector<MessagePtr> found;
    s.match(filter, found);
    std::vector<std::string> out;
    for (auto& m : found)
        out.push_back(std::string(m->topic()) + "=" + std::string(m->payload()));
    std::sort(out.begin(), out.end());
    return out;
}

TEST(RetainedStoreOnDisk, LeastRecentlyUsedLeaveMemoryAndAreReadBack) {
    Bounded b(3);
    for (int i = 0; i < 6; ++i)
        b.publish("t/" + std::to_string(i), "p");
    EXPECT_EQ(b.store.count(), 6u);
    EXPECT_EQ(b.store.diskOnlyCount(), 3u);
    EXPECT_EQ(b.store.bytes(), 3u * 4u);  // t/3, t/4, t/5 in memory
    // [MQTT-3.3.1-6] a new subscription gets every matching retained message, from memory or disk.
    EXPECT_EQ(topics(b.store, "t/#"), (std::vector<std::string>{"t/0", "t/1", "t/2", "t/3", "t/4", "t/5"}));
    EXPECT_EQ(topics(b.store, "+/+"), (std::vector<std::string>{"t/0", "t/1", "t/2", "t/3", "t/4", "t/5"}));
    b.disk->point_reads = 0;
    EXPECT_EQ(topics(b.store, "t/1"), (std::vector<std::string>{"t/1"}));  // exact topic: one point read
    EXPECT_EQ(b.disk->point_reads, 1);
    b.disk->point_reads = 0;
    EXPECT_EQ(topics(b.store, "t/4"), (std::vector<std::string>{"t/4"}));  // in memory: no read
    EXPECT_EQ(b.disk->point_reads, 0);
}

TEST(RetainedStoreOnDisk, MatchedMessagesStayLongest) {
    Bounded b(3);
    for (int i = 0; i < 3; ++i)
        b.publish("t/" + std::to_string(i), "p");
    topics(b.store, "t/0");  // used: t/1 is now the least recently used
    b.publish("t/3", "p");
    b.disk->point_reads = 0;
    topics(b.store, "t/0");
    EXPECT_EQ(b.disk->point_reads, 0);
    topics(b.store, "t/1");
    EXPECT_EQ(b.disk->point_reads, 1);
}

TEST(RetainedStoreOnDisk, NothingLeavesMemoryBeforeItIsWritten) {
    Bounded b(1);
    std::vector<MessagePtr> batch;
    for (int i = 0; i < 4; ++i) {
        batch.push_back(msg("t/" + std::to_string(i), "p"));
        EXPECT_TRUE(b.store.set(batch.back()));
    }
    EXPECT_EQ(b.store.diskOnlyCount(), 0u);  // over budget, but the store has none of them yet
    EXPECT_EQ(topics(b.store, "t/+").size(), 4u);
    for (auto& m : batch)
        b.disk->write(m);
    EXPECT_TRUE(b.store.stored(batch).empty());
    EXPECT_EQ(b.store.diskOnlyCount(), 3u);
    EXPECT_EQ(topics(b.store, "t/+").size(), 4u);
    // $SYS messages are never written, so they stay.
    EXPECT_FALSE(RetainedStore::persists("$SYS/broker/uptime"));
    EXPECT_TRUE(RetainedStore::persists("a/$SYS"));
}

TEST(RetainedStoreOnDisk, ReplacingAMessageOnDiskWinsBeforeAndAfterItIsWritten) {
    // [MQTT-3.3.1-5] one message per topic, the last one.
    Bounded b(1);
    b.publish("t/0", "old");
    b.publish("t/1", "p");  // t/0 leaves memory
    ASSERT_EQ(b.store.diskOnlyCount(), 1u);
    auto m = msg("t/0", "new");
    EXPECT_TRUE(b.store.set(m));  // not written yet: the disk still says "old"
    EXPECT_EQ(b.store.count(), 2u);
    EXPECT_EQ(b.store.diskOnlyCount(), 0u);
    EXPECT_EQ(payloads(b.store, "t/#"), (std::vector<std::string>{"t/0=new", "t/1=p"}));
    EXPECT_EQ(payloads(b.store, "t/0"), (std::vector<std::string>{"t/0=new"}));
    b.disk->write(m);
    EXPECT_TRUE(b.store.stored({m}).empty());
    EXPECT_EQ(payloads(b.store, "t/#"), (std::vector<std::string>{"t/0=new", "t/1=p"}));
}

TEST(RetainedStoreOnDisk, DeletingAMessageOnDiskHidesItUntilTheDeletionIsWritten) {
    // [MQTT-3.3.1-10] an empty payload deletes, also a message held on disk only.
    Bounded b(1);
    b.publish("t/0", "p");
    b.publish("t/1", "p");
    ASSERT_EQ(b.store.diskOnlyCount(), 1u);
    auto del = msg("t/0", "");
    EXPECT_TRUE(b.store.set(del));
    EXPECT_EQ(b.store.count(), 1u);
    EXPECT_EQ(b.store.diskOnlyCount(), 0u);
    EXPECT_EQ(topics(b.store, "t/#"), (std::vector<std::string>{"t/1"}));  // the disk still has t/0
    EXPECT_EQ(topics(b.store, "t/0"), (std::vector<std::string>{}));
    EXPECT_EQ(b.store.browse("t/", "", 10).total, 1u);
    b.disk->write(del);
    EXPECT_TRUE(b.store.stored({del}).empty());
    EXPECT_EQ(topics(b.store, "t/#"), (std::vector<std::string>{"t/1"}));
    // Deleting what is nowhere changes nothing.
    EXPECT_FALSE(b.store.set(msg("t/9", "")));  // no record to write either
    EXPECT_EQ(b.store.count(), 1u);
    // A deleted topic published again counts again.
    b.publish("t/0", "again");
    EXPECT_EQ(b.store.count(), 2u);
    EXPECT_EQ(payloads(b.store, "#"), (std::vector<std::string>{"t/0=again", "t/1=p"}));
}

TEST(RetainedStoreOnDisk, AnOlderRecordLandingLastIsWrittenAgain) {
    // Two workers set t/0 in turn; the second one's batch commits first.
    Bounded b(1);
    auto older = msg("t/0", "old");
    auto newer = msg("t/0", "new");
    EXPECT_TRUE(b.store.set(older));
    EXPECT_TRUE(b.store.set(newer));
    b.disk->write(newer);
    EXPECT_TRUE(b.store.stored({newer}).empty());
    b.disk->write(older);  // the store now says "old"
    auto again = b.store.stored({older});
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0], newer);
    b.publish("t/1", "p");
    b.publish("t/2", "p");
    EXPECT_EQ(payloads(b.store, "t/0"), (std::vector<std::string>{"t/0=new"}));  // kept in memory meanwhile
    b.disk->write(newer);
    EXPECT_TRUE(b.store.stored(again).empty());
    b.publish("t/3", "p");  // now t/0 may leave memory, and the store has the right one
    EXPECT_EQ(payloads(b.store, "t/0"), (std::vector<std::string>{"t/0=new"}));
    EXPECT_GE(b.store.diskOnlyCount(), 3u);
}

TEST(RetainedStoreOnDisk, AnOlderRecordLandingAfterADeletionIsDeletedAgain) {
    Bounded b(1);
    auto older = msg("t/0", "old");
    auto del = msg("t/0", "");
    EXPECT_TRUE(b.store.set(older));
    EXPECT_TRUE(b.store.set(del));
    b.disk->write(del);
    EXPECT_TRUE(b.store.stored({del}).empty());
    b.disk->write(older);
    auto again = b.store.stored({older});
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0], del);
    EXPECT_EQ(topics(b.store, "t/#"), (std::vector<std::string>{}));  // hidden meanwhile
    b.disk->write(del);
    EXPECT_TRUE(b.store.stored(again).empty());
    EXPECT_TRUE(b.disk->records.empty());
    EXPECT_EQ(b.store.count(), 0u);
}

TEST(RetainedStoreOnDisk, RecordsReportedInTheOtherOrderThanCommittedAreWrittenAgain) {
    // Worker A sets "old", worker B "new"; B's batch commits first, then A's (the store says "old"), but A
    // reports before B does.
    Bounded b(1);
    auto older = msg("t/0", "old");
    auto newer = msg("t/0", "new");
    EXPECT_TRUE(b.store.set(older));
    EXPECT_TRUE(b.store.set(newer));
    b.disk->write(newer);
    b.disk->write(older);
    EXPECT_TRUE(b.store.stored({older}).empty());
    auto again = b.store.stored({newer});
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0], newer);
    b.publish("t/1", "p");
    EXPECT_EQ(payloads(b.store, "t/0"), (std::vector<std::string>{"t/0=new"}));  // not evicted meanwhile
    b.disk->write(newer);
    EXPECT_TRUE(b.store.stored(again).empty());
    b.publish("t/2", "p");
    EXPECT_EQ(b.store.diskOnlyCount(), 2u);
    EXPECT_EQ(payloads(b.store, "t/0"), (std::vector<std::string>{"t/0=new"}));
}

TEST(RetainedStoreOnDisk, RecordsOfOneTopicInOneBatchNeedNoSecondWrite) {
    Bounded b(1);
    auto first = msg("t/0", "1");
    auto second = msg("t/0", "2");
    EXPECT_TRUE(b.store.set(first));
    EXPECT_TRUE(b.store.set(second));
    b.disk->write(first);
    b.disk->write(second);
    EXPECT_TRUE(b.store.stored({first, second}).empty());  // the batch applies them in order
    b.publish("t/1", "p");
    EXPECT_EQ(b.store.diskOnlyCount(), 1u);  // t/0 could leave memory
    EXPECT_EQ(payloads(b.store, "t/0"), (std::vector<std::string>{"t/0=2"}));
}

TEST(RetainedStoreOnDisk, RecoveryKeepsWhatFitsAndReadsTheRest) {
    auto d = std::make_unique<FakeDisk>();
    FakeDisk* disk = d.get();
    RetainedStore s;
    s.attachDisk(std::move(d), 2 * (RetainedStore::kEntryOverhead + 4));
    for (int i = 0; i < 5; ++i) {
        auto m = msg("t/" + std::to_string(i), "p");
        disk->write(m);
        s.restore(m);
    }
    EXPECT_EQ(s.count(), 5u);
    EXPECT_EQ(s.diskOnlyCount(), 3u);
    EXPECT_EQ(topics(s, "t/#").size(), 5u);
}

TEST(RetainedStoreOnDisk, LeadingWildcardsSkipDollarTopicsOnDisk) {
    // [MQTT-4.7.2-1]
    Bounded b(1);
    b.publish("$app/x", "p");
    b.publish("a/x", "p");
    b.publish("b/x", "p");
    ASSERT_EQ(b.store.diskOnlyCount(), 2u);
    EXPECT_EQ(topics(b.store, "#"), (std::vector<std::string>{"a/x", "b/x"}));
    EXPECT_EQ(topics(b.store, "+/x"), (std::vector<std::string>{"a/x", "b/x"}));
    EXPECT_EQ(topics(b.store, "$app/#"), (std::vector<std::string>{"$app/x"}));
}

TEST(RetainedStoreOnDisk, FiltersReadOnlyTheStoredTopicsUnderTheirLiteralPart) {
    Bounded b(1);
    for (auto t : {"a", "a/b/c", "a/b/d", "ab/x", "b/b/c", "z"})
        b.publish(t, "p");
    b.disk->scanned = 0;
    EXPECT_EQ(topics(b.store, "a/b/+"), (std::vector<std::string>{"a/b/c", "a/b/d"}));
    EXPECT_LE(b.disk->scanned, 2);
    // "a/#" matches "a" too [MQTT-4.7.1-2]; "ab/x" shares the text prefix and is filtered out.
    EXPECT_EQ(topics(b.store, "a/#"), (std::vector<std::string>{"a", "a/b/c", "a/b/d"}));
}

TEST(RetainedStoreOnDisk, BrowseMergesMemoryAndDiskInTopicOrder) {
    Bounded b(2);
    for (int i = 9; i >= 0; --i)
        b.publish("t/" + std::to_string(i), "p");
    ASSERT_EQ(b.store.diskOnlyCount(), 8u);
    auto first = b.store.browse("t/", "", 4);
    EXPECT_EQ(pageTopics(first), (std::vector<std::string>{"t/0", "t/1", "t/2", "t/3"}));
    EXPECT_EQ(first.total, 10u);
    auto second = b.store.browse("t/", "t/3", 4);
    EXPECT_EQ(pageTopics(second), (std::vector<std::string>{"t/4", "t/5", "t/6", "t/7"}));
    EXPECT_EQ(second.remaining, 6u);
    EXPECT_EQ(b.store.browse("", "", 0).total, 10u);
    EXPECT_EQ(b.store.browse("u", "", 10).total, 0u);
}

TEST(RetainedStoreOnDisk, ExpiredMessagesOnDiskAreNotHandedOut) {
    // [MQTT-3.3.2-5] an expired message is not delivered.
    Bounded b(1);
    Message::Init init;
    init.topic = "t/0";  // expired
    init.payload = "p";
    init.retain = true;
    init.expires_at_ms = 1;  // long ago
    auto old = Message::create(init);
    EXPECT_TRUE(b.store.set(old));
    b.disk->write(old);
    EXPECT_TRUE(b.store.stored({old}).empty());
    b.publish("t/1", "p");
    ASSERT_EQ(b.store.diskOnlyCount(), 1u);
    EXPECT_EQ(topics(b.store, "t/#"), (std::vector<std::string>{"t/1"}));
    EXPECT_EQ(topics(b.store, "t/0"), (std::vector<std::string>{}));
}

// Workers set retained messages concurrently and commit their batches outside the store's lock, so batches land
// on disk and are reported in any order. Afterwards the disk, memory and the counts all hold the last message set
// of each topic.
TEST(RetainedStoreOnDisk, ConcurrentWorkersLeaveTheLastMessageOfEachTopicEverywhere) {
    struct SafeDisk final : public RetainedDisk {
        mutable std::mutex mu;
        FakeDisk disk;
        bool contains(std::string_view topic) const override {
            std::lock_guard lock(mu);
            return disk.contains(topic);
        }
        MessagePtr get(std::string_view topic) const override {
            std::lock_guard lock(mu);
            return disk.get(topic);
        }
        void scan(std::string_view prefix,
                  const std::function<bool(std::string_view, std::string_view)>& fn) const override {
            std::vector<std::pair<std::string, std::string>> copy;  // a snapshot, as a RocksDB iterator has
            {
                std::lock_guard lock(mu);
                disk.scan(prefix, [&](std::string_view t, std::string_view v) {
                    copy.emplace_back(t, v);
                    return true;
                });
            }
            for (auto& [t, v] : copy)
                if (!fn(t, v)) return;
        }
        MessagePtr decode(std::string_view value) const override { return disk.decode(value); }
        void commit(const std::vector<MessagePtr>& batch) {
            std::lock_guard lock(mu);
            for (auto& m : batch)
                disk.write(m);
        }
    };
    auto owned = std::make_unique<SafeDisk>();
    SafeDisk* disk = owned.get();
    RetainedStore store;
    store.attachDisk(std::move(owned), 5 * (RetainedStore::kEntryOverhead + 8));  // about 5 of 24 topics fit

    constexpr int kWorkers = 4, kOps = 20000, kTopics = 24;
    std::mutex order_mu;  // records which set() came last for each topic (set() itself is atomic)
    std::map<std::string, std::string> last;
    auto worker = [&](int w) {
        std::vector<MessagePtr> batch;
        uint32_t seed = 7919u * (w + 1);
        auto next = [&] { return seed = seed * 1103515245u + 12345u, (seed >> 8); };
        for (int i = 0; i < kOps; ++i) {
            std::string topic = "t/" + std::to_string(next() % kTopics);
            std::string payload = next() % 5 == 0 ? "" : "w" + std::to_string(w) + "-" + std::to_string(i);
            auto m = msg(topic, payload);
            {
                std::lock_guard lock(order_mu);
                if (store.set(m)) batch.push_back(m);
                last[topic] = payload;
            }
            if (next() % 8 == 0) {
                // End of a loop turn: commit outside the store's lock, then report (maybe after another worker).
                disk->commit(batch);
                if (next() % 2) std::this_thread::yield();
                batch = store.stored(batch);
            }
            if (next() % 50 == 0) {
                std::vector<MessagePtr> found;
                store.match("t/+", found);
                std::set<std::string> seen;
                for (auto& f : found)
                    EXPECT_TRUE(seen.insert(std::string(f->topic())).second) << "twice: " << f->topic();
            }
        }
        while (!batch.empty()) {
            disk->commit(batch);
            batch = store.stored(batch);
        }
    };
    std::vector<std::thread> threads;
    for (int w = 0; w < kWorkers; ++w)
        threads.emplace_back(worker, w);
    for (auto& t : threads)
        t.join();

    size_t expected = 0;
    for (auto& [topic, payload] : last) {
        expected += !payload.empty();
        std::vector<std::string> want;
        if (!payload.empty()) want.push_back(topic + "=" + payload);
        EXPECT_EQ(payloads(store, topic), want) << topic;
        auto it = disk->disk.records.find(topic);
        EXPECT_EQ(it == disk->disk.records.end() ? std::string() : disk->decode(it->second)->payload(), payload)
            << "the store holds another message of " << topic;
    }
    EXPECT_EQ(store.count(), expected);
    EXPECT_EQ(payloads(store, "t/#").size(), expected);
    EXPECT_GT(store.diskOnlyCount(), 0u);
}

TEST(Message, SharedBodyHoldsTopicPropertiesAndPayload) {
    Message::Init init;
    init.topic = "t/1";
    init.properties = "\x01\x01";
    init.payload = "hello";
    init.qos = protocol::QoS::kAtLeastOnce;
    auto m = Message::create(init);
    MessagePtr copy = m;
    EXPECT_EQ(copy->topic(), "t/1");
    EXPECT_EQ(copy->properties(), "\x01\x01");
    EXPECT_EQ(copy->payload(), "hello");
    EXPECT_EQ(copy->size(), 3u + 2u + 5u);
    EXPECT_EQ(copy->qos(), protocol::QoS::kAtLeastOnce);
}

}  // namespace
}  // namespace starling::broker
