#include "store/store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <filesystem>
#include <vector>

namespace starling::store {

namespace {

void appendBe(std::string& out, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

std::string key(Kind k, std::string_view a) {
    std::string out(1, static_cast<char>(k));
    out.append(a);
    return out;
}

std::string key(Kind k, std::string_view client_id, std::string_view b) {
    std::string out(1, static_cast<char>(k));
    out.append(client_id);
    out.push_back('\0');
    out.append(b);
    return out;
}

std::string key(Kind k, std::string_view client_id, uint64_t n) {
    std::string out(1, static_cast<char>(k));
    out.append(client_id);
    out.push_back('\0');
    appendBe(out, n, 8);
    return out;
}

std::string key(Kind k, uint64_t n) {
    std::string out(1, static_cast<char>(k));
    appendBe(out, n, 8);
    return out;
}

struct Batch::Impl {
    rocksdb::WriteBatch wb;
};

Batch::Batch() : impl_(std::make_unique<Impl>()) {}
Batch::~Batch() = default;
Batch::Batch(Batch&&) noexcept = default;
Batch& Batch::operator=(Batch&&) noexcept = default;

void Batch::put(std::string_view k, std::string_view v) {
    impl_->wb.Put(rocksdb::Slice(k.data(), k.size()), rocksdb::Slice(v.data(), v.size()));
}

void Batch::del(std::string_view k) {
    impl_->wb.Delete(rocksdb::Slice(k.data(), k.size()));
}

void Batch::delClient(Kind k, std::string_view client_id) {
    std::string begin = key(k, client_id, std::string_view());  // kind, id, 0
    std::string end = begin;
    end.back() = '\1';  // everything of this id sorts before: kind, id, 1
    impl_->wb.DeleteRange(begin, end);
}

bool Batch::empty() const {
    return impl_->wb.Count() == 0;
}

size_t Batch::count() const {
    return impl_->wb.Count();
}

void Batch::clear() {
    impl_->wb.Clear();
}

struct Store::Impl {
    std::unique_ptr<rocksdb::DB> db;
};

namespace {

// A name for the damaged store next to `base` that nothing uses yet (two starts within a second must not mix).
std::string unusedName(const std::string& base) {
    auto stamp = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    std::string name = base + stamp;
    for (int i = 1; std::filesystem::exists(name); ++i)
        name = base + stamp + "-" + std::to_string(i);
    return name;
}

// Moves the store in `dir` out of the way: the directory itself to dir.damaged-<time>, or, when that cannot be
// renamed (a mount point, a parent we may not write), its entries into dir/damaged-<time> (RocksDB ignores
// directories it did not make). All or nothing: entries already moved go back if one cannot be.
bool moveAside(const std::string& dir, std::string& aside, std::string& error) {
    namespace fs = std::filesystem;
    std::error_code ec;
    aside = unusedName(dir + ".damaged-");
    fs::rename(dir, aside, ec);
    if (!ec) return true;
    aside = unusedName(dir + "/damaged-");
    std::vector<fs::path> entries;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->path().filename().string().starts_with("damaged-")) entries.push_back(it->path());
    }
    if (!ec) fs::create_directory(aside, ec);
    if (ec) {
        error = ec.message();
        return false;
    }
    std::vector<fs::path> moved;
    for (const auto& from : entries) {
        fs::rename(from, fs::path(aside) / from.filename(), ec);
        if (ec) {
            error = from.string() + ": " + ec.message();
            for (const auto& back : moved) {
                std::error_code ignored;
                fs::rename(fs::path(aside) / back.filename(), back, ignored);
            }
            return false;
        }
        moved.push_back(from);
    }
    return true;
}

}  // namespace

std::unique_ptr<Store> Store::open(const std::string& dir, Sync sync, std::string& notice) {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.paranoid_checks = true;
    options.max_background_jobs = 2;
    options.IncreaseParallelism(2);
    options.compression = rocksdb::kNoCompression;
    // Point reads of keys that are not there (is this retained topic stored?) mostly stop at the filter.
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    options.keep_log_file_num = 3;
    // A torn last WAL record after a crash is expected: drop it, keep everything before. Damage anywhere else
    // in the log fails the open, so that the store is repaired (RepairDB salvages the records after it) and the
    // log says so, instead of a replay that silently stops at the damage (point-in-time recovery).
    options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
    std::filesystem::create_directories(dir);
    rocksdb::DB* raw = nullptr;
    // Opens and reads every block once (checksums): a damaged block in the middle of a file would otherwise
    // only show as a scan that stops early, and recovery would silently miss everything after it.
    auto openVerified = [&] {
        auto st = rocksdb::DB::Open(options, dir, &raw);
        if (!st.ok()) return st;
        st = raw->VerifyChecksum();
        if (!st.ok()) {
            delete raw;
            raw = nullptr;
        }
        return st;
    };
    auto status = openVerified();
    Opened opened = Opened::kIntact;
    if (!status.ok()) {
        notice = "store in " + dir + " cannot be opened or read (" + status.ToString() + "); ";
        auto repaired = rocksdb::RepairDB(dir, options);
        if (repaired.ok()) status = openVerified();
        if (repaired.ok() && status.ok()) {
            // RepairDB sets aside what it cannot read (in lost/ inside the store directory).
            notice += "repaired it (records it could not read are in " + dir + "/lost)";
            opened = Opened::kRepaired;
        } else {
            std::string aside, error;
            if (!moveAside(dir, aside, error)) {
                notice += "cannot move it aside either (" + error + ")";
                return nullptr;
            }
            std::error_code ec;
            std::filesystem::create_directories(dir, ec);
            status = openVerified();
            notice += "moved it aside to " + aside + " and started an empty store";
            opened = Opened::kMovedAside;
            if (!status.ok()) {
                notice += ", which failed too: " + status.ToString();
                return nullptr;
            }
        }
    }
    std::unique_ptr<Store> s(new Store());
    s->impl_ = std::make_unique<Impl>();
    s->impl_->db.reset(raw);
    s->sync_ = sync;
    s->opened_ = opened;
    return s;
}

Store::~Store() {
    if (impl_ && impl_->db) {
        // A clean stop leaves the records in table files: the next start reads them instead of replaying the
        // log.
        impl_->db->Flush(rocksdb::FlushOptions());
        impl_->db->FlushWAL(true);
        impl_->db->Close();
    }
}

bool Store::commit(Batch& b, std::string& error) {
    if (b.empty()) return true;
    rocksdb::WriteOptions wo;
    wo.sync = sync_ == Sync::kAlways;
    auto status = impl_->db->Write(wo, &b.impl_->wb);
    if (!status.ok()) {
        error = status.ToString();
        return false;  // the batch stays, to be written again
    }
    b.clear();
    return true;
}

void Store::resume() {
    impl_->db->Resume();  // after a write error RocksDB refuses writes until resumed
}

void Store::syncWal() {
    impl_->db->FlushWAL(true);
}

bool Store::get(std::string_view k, std::string& value, std::string& error) const {
    error.clear();
    auto status = impl_->db->Get(rocksdb::ReadOptions(), rocksdb::Slice(k.data(), k.size()), &value);
    if (status.ok()) return true;
    if (!status.IsNotFound()) error = status.ToString();
    return false;
}

bool Store::contains(std::string_view k, std::string& error) const {
    error.clear();
    rocksdb::Slice key(k.data(), k.size());
    std::string ignored;
    if (!impl_->db->KeyMayExist(rocksdb::ReadOptions(), impl_->db->DefaultColumnFamily(), key, &ignored)) return false;
    rocksdb::PinnableSlice value;
    auto status = impl_->db->Get(rocksdb::ReadOptions(), impl_->db->DefaultColumnFamily(), key, &value);
    if (status.ok()) return true;
    if (!status.IsNotFound()) error = status.ToString();
    return false;
}

void Store::scan(const std::function<void(Kind, std::string_view, std::string_view)>& fn, std::string& error) const {
    error.clear();
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        auto k = it->key();
        if (k.size() < 1) continue;
        fn(static_cast<Kind>(k[0]), std::string_view(k.data() + 1, k.size() - 1),
           std::string_view(it->value().data(), it->value().size()));
    }
    if (!it->status().ok()) error = it->status().ToString();
}

void Store::scan(Kind k, std::string_view prefix, const std::function<bool(std::string_view, std::string_view)>& fn,
                 std::string& error) const {
    error.clear();
    const std::string start = key(k, prefix);
    // The first key after every key that starts with `start`: its last byte below 0xFF incremented. A bound
    // keeps the iterator from walking deletion tombstones past the range.
    std::string end = start;
    while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xFF)
        end.pop_back();
    if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper(end);
    if (!end.empty()) ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro));
    for (it->Seek(rocksdb::Slice(start)); it->Valid(); it->Next()) {
        auto kv = it->key();
        if (!kv.starts_with(rocksdb::Slice(start))) break;
        if (!fn(std::string_view(kv.data() + 1, kv.size() - 1),
                std::string_view(it->value().data(), it->value().size())))
            return;
    }
    if (!it->status().ok()) error = it->status().ToString();
}

uint64_t Store::approximateSize() const {
    uint64_t size = 0;
    impl_->db->GetIntProperty("rocksdb.total-sst-files-size", &size);
    uint64_t mem = 0;
    impl_->db->GetIntProperty("rocksdb.cur-size-all-mem-tables", &mem);
    return size + mem;
}

Writer& Writer::u8(uint8_t v) {
    out_.push_back(static_cast<char>(v));
    return *this;
}
Writer& Writer::u16(uint16_t v) {
    appendBe(out_, v, 2);
    return *this;
}
Writer& Writer::u32(uint32_t v) {
    appendBe(out_, v, 4);
    return *this;
}
Writer& Writer::u64(uint64_t v) {
    appendBe(out_, v, 8);
    return *this;
}
Writer& Writer::str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s);
    return *this;
}

bool Reader::take(size_t n, const char*& p) {
    if (!ok_ || in_.size() < n) {
        ok_ = false;
        return false;
    }
    p = in_.data();
    in_.remove_prefix(n);
    return true;
}

static uint64_t readBe(const char* p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
        v = (v << 8) | static_cast<uint8_t>(p[i]);
    return v;
}

uint8_t Reader::u8() {
    const char* p;
    return take(1, p) ? static_cast<uint8_t>(p[0]) : 0;
}
uint16_t Reader::u16() {
    const char* p;
    return take(2, p) ? static_cast<uint16_t>(readBe(p, 2)) : 0;
}
uint32_t Reader::u32() {
    const char* p;
    return take(4, p) ? static_cast<uint32_t>(readBe(p, 4)) : 0;
}
uint64_t Reader::u64() {
    const char* p;
    return take(8, p) ? readBe(p, 8) : 0;
}
std::string_view Reader::str() {
    uint32_t n = u32();
    const char* p;
    return take(n, p) ? std::string_view(p, n) : std::string_view();
}

}  // namespace starling::store
