#include "net/tcp_connection.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

#include "net/worker.hpp"

namespace starling::net {

namespace {
constexpr size_t kReadChunk = 64 * 1024;
// An idle connection keeps a small input buffer; a busy one grows it (doubling) up to kReadChunk and more.
constexpr size_t kInitialInput = 1024;
// Payloads up to this size are copied into the packet buffer; larger ones are written from the Message.
constexpr size_t kCopyTailBelow = 2048;

uint64_t nowMs() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}
}  // namespace

TcpConnection::TcpConnection(Worker& worker, boost::asio::ip::tcp::socket socket, std::string address,
                             uint32_t max_packet, MigrateFn migrate, std::atomic<int>* listener_count,
                             std::shared_ptr<TlsSession> tls, std::shared_ptr<WsSession> ws)
    : worker_(worker),
      socket_(std::move(socket)),
      address_(std::move(address)),
      splitter_(max_packet),
      migrate_(std::move(migrate)),
      listener_count_(listener_count),
      tls_(std::move(tls)),
      ws_(std::move(ws)) {
    if (tls_) {
        this->tls = true;
        if (tls_->handshakeDone()) tls_identity = identityOf(*tls_);
    }
}

TcpConnection::~TcpConnection() = default;

void TcpConnection::start(std::vector<uint8_t> initial) {
    worker_.shard().onOpened(*this);
    in_ = std::move(initial);
    in_end_ = in_.size();
    if (in_.size() < kInitialInput) in_.resize(kInitialInput);
    if (in_end_ > 0) {
        processInput();
        worker_.endTurn();
    }
    if (tls_ && tls_->hasOutput()) flushSoon();  // a migrated TLS connection's last handshake bytes
    if (ws_ && !ws_->controlOutput().empty()) flushSoon();
    if (!closing_ && !migrated_) readMore();
}

void TcpConnection::readMore() {
    if (reading_ || paused_ || closing_ || migrated_) return;
    // Compact, then make room for at least one chunk.
    if (in_begin_ > 0) {
        if (in_end_ > in_begin_) std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
        in_end_ -= in_begin_;
        in_begin_ = 0;
    }
    // Grow when the last read filled the buffer (a busy publisher) or a partial packet fills it.
    if ((last_read_full_ && in_.size() < kReadChunk) || in_end_ == in_.size())
        in_.resize(in_.size() < kReadChunk ? in_.size() * 2 : in_.size() + kReadChunk);
    reading_ = true;
    if (tls_ || ws_) {
        if (cipher_in_.empty()) cipher_in_.resize(17 * 1024);  // one TLS record
        socket_.async_read_some(
            boost::asio::buffer(cipher_in_),
            [self = shared_from_this()](const boost::system::error_code& ec, size_t n) { self->onRead(ec, n); });
        return;
    }
    socket_.async_read_some(
        boost::asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
        [self = shared_from_this()](const boost::system::error_code& ec, size_t n) { self->onRead(ec, n); });
}

void TcpConnection::onRead(const boost::system::error_code& ec, size_t n) {
    reading_ = false;
    if (migrated_ || finished_) return;
    if (ec) {
        if (!closing_) close(broker::CloseReason::kSocketClosed);
        worker_.endTurn();
        return;
    }
    if (closing_) return;
    last_received_ms = nowMs();
    if (tls_) {
        if (!decrypt(n)) {
            worker_.endTurn();
            return;
        }
    } else if (ws_) {
        if (!unframe(cipher_in_.data(), n)) {
            worker_.endTurn();
            return;
        }
    } else {
        last_read_full_ = in_end_ + n == in_.size();
        in_end_ += n;
    }
    processInput();
    worker_.endTurn();
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

void TcpConnection::processInput() {
    auto& shard = worker_.shard();
    while (!closing_ && in_end_ > in_begin_) {
        protocol::ByteSpan data(in_.data() + in_begin_, in_end_ - in_begin_);
        auto r = splitter_.next(data);
        if (r.status == protocol::SplitStatus::kNeedMore) {
            // Make sure a large packet fits once its length is known.
            if (r.needed > in_.size() - in_begin_) {
                std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
                in_end_ -= in_begin_;
                in_begin_ = 0;
                if (r.needed > in_.size()) in_.resize(r.needed + kReadChunk / 2);
            }
            return;
        }
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
    if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
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
    std::vector<uint8_t> rest(in_.begin() + in_begin_, in_.begin() + in_end_);
    boost::system::error_code ec;
    bool v6 = socket_.local_endpoint(ec).address().is_v6();
    int fd = socket_.release(ec);
    if (ec) {
        spdlog::error("Cannot hand over connection from {}: {}", address_, ec.message());
        return;
    }
    migrate_(target, fd, v6, std::move(rest), address_, listener_port, std::move(tls_), std::move(ws_));
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

bool TcpConnection::decrypt(size_t n) {
    bool was_done = tls_->handshakeDone();
    size_t plain_end = 0;
    auto status =
        ws_ ? tls_->feed(cipher_in_.data(), n, ws_plain_, plain_end) : tls_->feed(cipher_in_.data(), n, in_, in_end_);
    if (ws_ && plain_end && status != TlsSession::Status::kError && !unframe(ws_plain_.data(), plain_end)) return false;
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
    ws_control_out_.clear();
    if (ws_control) ws_control_out_.swap(ws_->controlOutput());
    if (ws_ && ws_->upgraded() && !pending_.empty()) ws_header = WsSession::frameHeader(ws_header_, bytesOf(pending_));
    if (tls_) {
        // Encrypt what is queued; the ciphertext goes out in one write.
        if (!ws_control_out_.empty()) tls_->write(ws_control_out_.data(), ws_control_out_.size());
        if (ws_header) tls_->write(ws_header_, ws_header);
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
        tls_->takeOutput(cipher_out_);
        writing_bytes_ = cipher_out_.size();
        write_in_progress_ = true;
        boost::asio::async_write(
            socket_, boost::asio::buffer(cipher_out_),
            [self = shared_from_this()](const boost::system::error_code& ec, size_t n) { self->onWritten(ec, n); });
        return;
    }
    writing_.swap(pending_);
    sealed_bytes_ = 0;
    std::vector<boost::asio::const_buffer> bufs;
    bufs.reserve(writing_.size() * 3 + 2);
    size_t total = 0;
    if (!ws_control_out_.empty()) bufs.emplace_back(ws_control_out_.data(), ws_control_out_.size());
    if (ws_header) bufs.emplace_back(ws_header_, ws_header);
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
    for (auto& c : writing_) {
        if (spare_.size() < 4 && c.bytes.capacity() <= 64 * 1024) spare_.push_back(std::move(c.bytes));
    }
    writing_.clear();
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
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
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
