#include "net/tcp_connection.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>

#include "net/worker.hpp"

namespace starling::net {

namespace {
// Bytes read from the socket at once: the size of the worker's shared input buffer. 128 KiB rather than 64: a
// 64 KiB payload's packet then fits, and is decoded where it was read instead of being completed in a buffer of
// its own first (bench/compare.sh large64k, pinned: broker CPU per MB 0.76 -> 0.52 ms).
constexpr size_t kReadChunk = 128 * 1024;
// TLS and WebSocket append to the worker's input buffer as they decode; one grown beyond this for a large
// packet is not kept for the next read.
constexpr size_t kKeepInputBelow = 4 * kReadChunk;
// Payloads up to this size are copied into the packet buffer; larger ones are written from the Message.
constexpr size_t kCopyTailBelow = 2048;

uint64_t nowMs() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}
}  // namespace

TcpConnection::TcpConnection(Worker& worker, Socket socket, std::string address, uint32_t max_packet,
                             const MigrateFn& migrate, std::atomic<int>* listener_count,
                             std::shared_ptr<TlsSession> tls, std::shared_ptr<WsSession> ws)
    : worker_(worker),
      socket_(std::move(socket)),
      address_(std::move(address)),
      splitter_(max_packet),
      migrate_(migrate),
      listener_count_(listener_count),
      tls_(std::move(tls)),
      ws_(std::move(ws)) {
    if (tls_ || ws_) layer_out_ = std::make_unique<LayerOutput>();
    if (tls_) {
        this->tls = true;
        if (tls_->handshakeDone()) tls_identity = identityOf(*tls_);
    }
}

TcpConnection::~TcpConnection() = default;

void TcpConnection::start(std::vector<uint8_t> initial) {
    worker_.shard().onOpened(*this);
    // Reads happen once the socket is readable, into whichever buffer is free then; they must not block.
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
    in_ = std::move(initial);
    in_end_ = in_.size();
    if (in_end_ > 0) {
        processInput();
        keepIncomplete();
        worker_.endTurn();
    }
    if (tls_ && tls_->hasOutput()) flushSoon();  // a migrated TLS connection's last handshake bytes
    if (ws_ && !ws_->controlOutput().empty()) flushSoon();
    if (!closing_ && !migrated_) readMore();
}

void TcpConnection::readMore() {
    if (reading_ || paused_ || closing_ || migrated_) return;
    reading_ = true;
    if (more_input_) {
        // More is probably waiting: read it in the next turn without asking the reactor first.
        boost::asio::post(worker_.io(), [self = shared_from_this()] { self->onReadable({}); });
        return;
    }
    socket_.async_wait(Socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) { self->onReadable(ec); });
}

void TcpConnection::onReadable(const boost::system::error_code& ec) {
    reading_ = false;
    if (migrated_ || finished_) return;
    if (ec) {
        if (!closing_) close(broker::CloseReason::kSocketClosed);
        worker_.endTurn();
        return;
    }
    if (closing_) return;
    lendInput();
    const ReadResult r = readSocket();
    if (r == ReadResult::kData) processInput();
    keepIncomplete();
    if (r == ReadResult::kNothing) return readMore();
    worker_.endTurn();
    if (r == ReadResult::kEnded) return;
    if (worker_.broker().overloaded()) {
        // Back-pressure: a worker we feed is behind; read this publisher again in a millisecond.
        paused_ = true;
        if (!pause_timer_) pause_timer_ = std::make_unique<boost::asio::steady_timer>(worker_.io());
        pause_timer_->expires_after(std::chrono::milliseconds(1));
        pause_timer_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            self->paused_ = false;
            if (!ec) self->readMore();
        });
        return;
    }
    readMore();
}

TcpConnection::ReadResult TcpConnection::readSocket() {
    boost::system::error_code ec;
    size_t n = 0;
    std::vector<uint8_t>* raw = nullptr;
    if (tls_ || ws_) {
        raw = &worker_.readBuffers().socket;
        if (raw->size() < kReadChunk) raw->resize(kReadChunk);
        n = socket_.read_some(boost::asio::buffer(*raw), ec);
        more_input_ = !ec && n == raw->size();
    } else {
        n = socket_.read_some(boost::asio::buffer(in_.data() + in_end_, in_.size() - in_end_), ec);
        more_input_ = !ec && in_end_ + n == in_.size();
    }
    if (ec == boost::asio::error::would_block) return ReadResult::kNothing;
    if (ec) {
        close(broker::CloseReason::kSocketClosed);
        return ReadResult::kEnded;
    }
    last_received_ms = nowMs();
    if (tls_) return decrypt(raw->data(), n) ? ReadResult::kData : ReadResult::kEnded;
    if (ws_) return unframe(raw->data(), n) ? ReadResult::kData : ReadResult::kEnded;
    in_end_ += n;
    return ReadResult::kData;
}

void TcpConnection::lendInput() {
    const size_t kept = in_end_ - in_begin_;  // keepIncomplete() left it at the front
    const size_t packet = kept ? splitter_.next(protocol::ByteSpan(in_.data(), kept)).needed : 0;
    if (packet > kReadChunk) {
        if (in_.size() < packet) in_.resize(packet);
        return;
    }
    std::vector<uint8_t> buffer = std::move(worker_.readBuffers().input);
    if (buffer.size() < kReadChunk) buffer.resize(kReadChunk);
    if (kept) std::memcpy(buffer.data(), in_.data(), kept);
    in_ = std::move(buffer);
    in_lent_ = true;
}

void TcpConnection::keepIncomplete() {
    // A large packet's own buffer stays while the packet is incomplete; anything else is copied out.
    if (!in_lent_ && in_begin_ == 0 && in_end_ > 0) return;
    std::vector<uint8_t> rest(in_.begin() + static_cast<ptrdiff_t>(in_begin_),
                              in_.begin() + static_cast<ptrdiff_t>(in_end_));
    if (in_lent_ && in_.size() < kKeepInputBelow) worker_.readBuffers().input = std::move(in_);
    in_ = std::move(rest);
    in_lent_ = false;
    in_begin_ = 0;
    in_end_ = in_.size();
}

void TcpConnection::processInput() {
    auto& shard = worker_.shard();
    while (!closing_ && in_end_ > in_begin_) {
        protocol::ByteSpan data(in_.data() + in_begin_, in_end_ - in_begin_);
        auto r = splitter_.next(data);
        if (r.status == protocol::SplitStatus::kNeedMore) return;
        if (r.status == protocol::SplitStatus::kError) {
            // A v5 client is told why first: 0x95 packet too large, 0x81 malformed [MQTT-4.13.1-1].
            const bool too_large = r.error.reason == protocol::ReasonCode::kPacketTooLarge;
            shard.disconnect(*this,
                             too_large ? protocol::ReasonCode::kPacketTooLarge : protocol::ReasonCode::kMalformedPacket,
                             too_large ? broker::CloseReason::kLimitExceeded : broker::CloseReason::kProtocolError,
                             r.error.rule ? r.error.rule : "malformed fixed header");
            return;
        }
        auto outcome = shard.onFrame(*this, r.frame);
        if (outcome.kind == broker::Shard::FrameOutcome::kMigrate) {
            // Hand the socket and the unconsumed input (this CONNECT and anything after it) to the owner.
            migrated_ = true;
            shard.forget(*this);
            if (write_in_progress_) {
                migrate_to_ = outcome.target;  // TLS handshake bytes still on their way: move after them
            } else {
                migrate(outcome.target);
            }
            return;
        }
        in_begin_ += r.frame.size;
    }
}

size_t TcpConnection::Chunk::size() const {
    size_t n = bytes.size();
    if (tail) n += tail->payload().size() + (tail_properties ? tail->properties().size() : 0);
    return n;
}

uint64_t TcpConnection::pendingOutputBytes() const {
    return writing_bytes_ + sealed_bytes_ + (pending_.empty() ? 0 : pending_.back().size());
}

void TcpConnection::migrate(unsigned target) {
    Handover h;
    h.input.assign(in_.begin() + static_cast<ptrdiff_t>(in_begin_), in_.begin() + static_cast<ptrdiff_t>(in_end_));
    boost::system::error_code ec;
    h.v6 = socket_.local_endpoint(ec).address().is_v6();
    h.fd = socket_.release(ec);
    if (ec) {
        spdlog::error("Cannot hand over connection from {}: {}", address_, ec.message());
        return;
    }
    h.address = address_;
    h.listener_port = listener_port;
    h.listener_index = listener_index;
    h.listener_count = listener_count_;
    h.tls = std::move(tls_);
    h.ws = std::move(ws_);
    migrate_(target, std::move(h));
}

std::string TcpConnection::identityOf(const TlsSession& t) {
    const auto& s = t.context().settings();
    if (s.use_identity_as_username) return t.peerCommonName();
    if (s.use_subject_as_username) return t.peerSubject();
    return {};
}

bool TcpConnection::unframe(const uint8_t* data, size_t n) {
    auto status = ws_->feed(data, n, in_, in_end_);
    if (!ws_->controlOutput().empty()) flushSoon();
    if (status == WsSession::Status::kOk) return true;
    if (status == WsSession::Status::kError) {
        spdlog::warn("WebSocket error from {}: {}", address_, ws_->error());
        close_detail = "WebSocket: " + ws_->error();
        close(broker::CloseReason::kProtocolError);
    } else {
        close(broker::CloseReason::kSocketClosed);
    }
    return false;
}

bool TcpConnection::decrypt(const uint8_t* data, size_t n) {
    bool was_done = tls_->handshakeDone();
    auto& plain = worker_.readBuffers().tls_plain;
    size_t plain_end = 0;
    auto status = ws_ ? tls_->feed(data, n, plain, plain_end) : tls_->feed(data, n, in_, in_end_);
    if (ws_ && plain_end && status != TlsSession::Status::kError && !unframe(plain.data(), plain_end)) return false;
    if (tls_->hasOutput()) flushSoon();
    if (status == TlsSession::Status::kError) {
        spdlog::warn("TLS error from {}: {}", address_, tls_->error());
        worker_.shard().stats().tls_failures.add();
        close_detail = "TLS: " + tls_->error();
        close(broker::CloseReason::kProtocolError);
        return false;
    }
    if (!was_done && tls_->handshakeDone()) {
        tls_identity = identityOf(*tls_);
        spdlog::debug("TLS handshake with {} done{}{}", address_, tls_identity.empty() ? "" : ", identity ",
                      tls_identity);
    }
    if (status == TlsSession::Status::kClosed) {
        close(broker::CloseReason::kSocketClosed);
        return false;
    }
    return true;
}

size_t TcpConnection::bytesOf(const std::vector<Chunk>& chunks) {
    size_t n = 0;
    for (const auto& c : chunks)
        n += c.size();
    return n;
}

protocol::Bytes& TcpConnection::writeBuffer() {
    if (pending_.empty() || pending_.back().tail) {
        if (!pending_.empty()) sealed_bytes_ += pending_.back().size();
        Chunk c;
        if (!spare_.empty()) {
            c.bytes = std::move(spare_.back());
            spare_.pop_back();
            c.bytes.clear();
        }
        pending_.push_back(std::move(c));
    }
    return pending_.back().bytes;
}

void TcpConnection::writeMessageTail(const broker::MessagePtr& m, bool with_properties) {
    size_t size = m->payload().size() + (with_properties ? m->properties().size() : 0);
    if (size < kCopyTailBelow) {
        auto& b = writeBuffer();
        if (with_properties) b.insert(b.end(), m->properties().begin(), m->properties().end());
        b.insert(b.end(), m->payload().begin(), m->payload().end());
        return;
    }
    writeBuffer();  // make sure there is a chunk to attach to
    pending_.back().tail = m;
    pending_.back().tail_properties = with_properties;
}

void TcpConnection::flushSoon() {
    if (dirty_ || finished_) return;
    dirty_ = true;
    worker_.markDirty(shared_from_this());
}

void TcpConnection::reportOutput() {
    auto now = static_cast<int64_t>(pendingOutputBytes());
    if (now != reported_output_) {
        worker_.broker().output_queued.fetch_add(now - reported_output_, std::memory_order_relaxed);
        reported_output_ = now;
    }
}

void TcpConnection::writeNow() {
    dirty_ = false;
    reportOutput();
    if (write_in_progress_ || finished_ || migrated_) return;
    const bool ws_control = ws_ && !ws_->controlOutput().empty();
    if (pending_.empty() && !(tls_ && tls_->hasOutput()) && !ws_control) {
        if (closing_) shutdownSocket();
        return;
    }
    // WebSocket: protocol replies first, then the queued MQTT bytes as one binary frame.
    size_t ws_header = 0;
    if (ws_) {
        layer_out_->ws_control.clear();
        if (ws_control) layer_out_->ws_control.swap(ws_->controlOutput());
        if (ws_->upgraded() && !pending_.empty())
            ws_header = WsSession::frameHeader(layer_out_->ws_header, bytesOf(pending_));
    }
    if (tls_) {
        // Encrypt what is queued; the ciphertext goes out in one write.
        auto& out = *layer_out_;
        if (!out.ws_control.empty()) tls_->write(out.ws_control.data(), out.ws_control.size());
        if (ws_header) tls_->write(out.ws_header, ws_header);
        for (auto& c : pending_) {
            bool ok = tls_->write(c.bytes.data(), c.bytes.size());
            if (ok && c.tail) {
                if (c.tail_properties && !c.tail->properties().empty())
                    ok = tls_->write(reinterpret_cast<const uint8_t*>(c.tail->properties().data()),
                                     c.tail->properties().size());
                ok = ok &&
                     tls_->write(reinterpret_cast<const uint8_t*>(c.tail->payload().data()), c.tail->payload().size());
            }
            if (!ok) {
                spdlog::warn("TLS error writing to {}: {}", address_, tls_->error());
                worker_.shard().stats().tls_failures.add();
            }
        }
        writing_.swap(pending_);
        sealed_bytes_ = 0;
        tls_->takeOutput(out.cipher);
        writing_bytes_ = out.cipher.size();
        write_in_progress_ = true;
        boost::asio::async_write(
            socket_, boost::asio::buffer(out.cipher),
            [self = shared_from_this()](const boost::system::error_code& ec, size_t n) { self->onWritten(ec, n); });
        return;
    }
    writing_.swap(pending_);
    sealed_bytes_ = 0;
    std::vector<boost::asio::const_buffer> bufs;
    bufs.reserve(writing_.size() * 3 + 2);
    size_t total = 0;
    if (ws_) {
        const auto& ws_control_out = layer_out_->ws_control;
        if (!ws_control_out.empty()) bufs.emplace_back(ws_control_out.data(), ws_control_out.size());
        if (ws_header) bufs.emplace_back(layer_out_->ws_header, ws_header);
    }
    for (auto& c : writing_) {
        if (!c.bytes.empty()) bufs.emplace_back(c.bytes.data(), c.bytes.size());
        total += c.bytes.size();
        if (c.tail) {
            if (c.tail_properties && !c.tail->properties().empty()) {
                bufs.emplace_back(c.tail->properties().data(), c.tail->properties().size());
                total += c.tail->properties().size();
            }
            bufs.emplace_back(c.tail->payload().data(), c.tail->payload().size());
            total += c.tail->payload().size();
        }
    }
    writing_bytes_ = total;
    write_in_progress_ = true;
    boost::asio::async_write(socket_, bufs, [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
        self->onWritten(ec, n);
    });
}

void TcpConnection::onWritten(const boost::system::error_code& ec, size_t n) {
    write_in_progress_ = false;
    writing_bytes_ = 0;
    reportOutput();
    if (migrate_to_) {
        if (ec) return shutdownSocket();
        return migrate(*migrate_to_);
    }
    if (pending_.empty()) {
        // Caught up: an idle connection keeps no write buffers.
        writing_ = {};
        spare_ = {};
        if (layer_out_) *layer_out_ = {};
    } else {
        for (auto& c : writing_) {
            if (spare_.size() < 4 && c.bytes.capacity() <= 64 * 1024) spare_.push_back(std::move(c.bytes));
        }
        writing_.clear();
    }
    if (ec) {
        pending_.clear();
        sealed_bytes_ = 0;
        if (!closing_) close(broker::CloseReason::kSocketClosed);
        shutdownSocket();
        return;
    }
    writeNow();
}

void TcpConnection::close(broker::CloseReason reason) {
    if (closing_) return;
    closing_ = true;
    if (close_reason == broker::CloseReason::kNone) close_reason = reason;
    // Write what is queued (a CONNACK refusal, a last PUBACK), then close; give a slow peer 2 seconds.
    close_timer_ = std::make_unique<boost::asio::steady_timer>(worker_.io());
    close_timer_->expires_after(std::chrono::seconds(2));
    close_timer_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->shutdownSocket();
    });
    flushSoon();
}

void TcpConnection::shutdownSocket() {
    if (finished_) return;
    finished_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
    if (close_timer_) close_timer_->cancel();
    if (pause_timer_) pause_timer_->cancel();
    // Tell the core after this turn, never from inside one of its own calls.
    boost::asio::post(worker_.io(), [self = shared_from_this()] { self->finish(); });
}

void TcpConnection::finish() {
    pending_.clear();
    writing_.clear();
    writing_bytes_ = sealed_bytes_ = 0;
    reportOutput();
    worker_.shard().onClosed(*this);
    worker_.endTurn();
    worker_.connectionClosed();
    if (listener_count_) listener_count_->fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace starling::net
