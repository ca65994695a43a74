#pragma once
// The embedded store (RocksDB) behind a narrow interface, so that RocksDB's headers stay here. Records are
// opaque byte strings under typed keys; the broker core (src/broker/persistence.cpp) encodes them. One
// database for all workers: each worker fills its own Batch during a loop turn and commits it at the end
// of the turn, before that turn's acknowledgements are written to sockets (group commit). Thread-safe.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace starling::store {

// What a record is, and the first byte of its key.
enum class Kind : char {
    kMessage = 'M',   // message body, by id
    kPending = 'P',   // a message acknowledged to its publisher whose deliveries may not all be stored yet
    kSession = 'S',   // persistent session, by client id
    kSub = 'U',       // subscription: client id + filter
    kQueued = 'Q',    // queued delivery: client id + sequence
    kInflight = 'F',  // delivery in flight: client id + sequence
    kIncoming = 'I',  // incoming QoS 2 packet id awaiting PUBREL: client id + packet id
    kRetained = 'R',  // retained message, by topic
};

enum class Sync { kNone, kInterval, kAlways };

// Keys: Kind, then the parts; a client id is followed by a 0 byte, so one client's records are a range.
std::string key(Kind k, std::string_view a);
std::string key(Kind k, std::string_view client_id, std::string_view b);
std::string key(Kind k, std::string_view client_id, uint64_t n);
std::string key(Kind k, uint64_t n);

class Batch {
  public:
    Batch();
    ~Batch();
    Batch(Batch&&) noexcept;
    Batch& operator=(Batch&&) noexcept;
    void put(std::string_view key, std::string_view value);
    void del(std::string_view key);
    // Every record of one client of kind `k` (its subscriptions, queue, ...).
    void delClient(Kind k, std::string_view client_id);
    bool empty() const;
    size_t count() const;
    void clear();

  private:
    friend class Store;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

class Store {
  public:
    // Opens (creating) the database in `dir`. A damaged database is repaired; if that fails it is moved
    // aside (dir + ".damaged-<time>") and a new one started; `notice` then says what happened, for the log.
    static std::unique_ptr<Store> open(const std::string& dir, Sync sync, std::string& notice);
    ~Store();

    // What open() found: an intact database, a damaged one it repaired, or one it moved aside.
    enum class Opened { kIntact, kRepaired, kMovedAside };
    Opened opened() const { return opened_; }

    // Writes the batch atomically (synced to disk when the policy is kAlways) and empties it; on failure the
    // batch is kept.
    bool commit(Batch& b, std::string& error);
    // After a failed write: lets the database take writes again, if it can (RocksDB stops after an error).
    void resume();
    // The interval policy: makes what was committed so far durable on disk.
    void syncWal();
    Sync sync() const { return sync_; }

    // One record by its whole key (as key() builds it). False when it is missing; `error` is set when the
    // read itself failed (I/O, corruption), empty for a plain miss.
    [[nodiscard]] bool get(std::string_view key, std::string& value, std::string& error) const;
    // Whether a record exists, without copying it (a bloom filter answers most misses).
    [[nodiscard]] bool contains(std::string_view key, std::string& error) const;
    // Every record, in key order: kind, the key after the kind byte, the value. `error` is set when the scan
    // stopped on a read error (a damaged block), empty otherwise.
    void scan(const std::function<void(Kind, std::string_view key, std::string_view value)>& fn,
              std::string& error) const;
    // The records of kind `k` whose key (after the kind byte) starts with `prefix`, in key order, until `fn`
    // returns false.
    // `error` is set when the scan stopped on a read error (I/O, corruption), empty otherwise.
    void scan(Kind k, std::string_view prefix,
              const std::function<bool(std::string_view key, std::string_view value)>& fn, std::string& error) const;
    uint64_t approximateSize() const;

  private:
    Store() = default;
    struct Impl;
    std::unique_ptr<Impl> impl_;
    Sync sync_ = Sync::kInterval;
    Opened opened_ = Opened::kIntact;
};

// Little helpers to encode records: fixed-width big-endian integers and length-prefixed strings.
class Writer {
  public:
    Writer& u8(uint8_t v);
    Writer& u16(uint16_t v);
    Writer& u32(uint32_t v);
    Writer& u64(uint64_t v);
    Writer& str(std::string_view s);
    const std::string& data() const { return out_; }

  private:
    std::string out_;
};

class Reader {
  public:
    explicit Reader(std::string_view in) : in_(in) {}
    uint8_t u8();
    uint16_t u16();
    uint32_t u32();
    uint64_t u64();
    std::string_view str();
    bool ok() const { return ok_; }
    bool atEnd() const { return in_.empty(); }

  private:
    bool take(size_t n, const char*& p);
    std::string_view in_;
    bool ok_ = true;
};

}  // namespace starling::store
