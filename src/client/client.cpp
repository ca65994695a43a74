#include "client/client.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <random>
#include <unordered_set>

#include <boost/asio/error.hpp>

#include "client/asio_loop.hpp"
#include "client/inflight_store.hpp"
#include "client/transport.hpp"
#include "protocol/packet.hpp"

namespace starling::client {

using namespace protocol;
using Clock = std::chrono::steady_clock;

class Client::Impl {
  public:
    Impl(EventLoop& loop, ClientOptions options)
        : loop_(loop),
          opts_(std::move(options)),
          client_id_(opts_.client_id),
          inflight_(opts_.max_inflight),
          keepalive_timer_(loop),
          reconnect_timer_(loop),
          alive_(std::make_shared<int>(0)) {
        rbuf_.resize(64 * 1024);
    }
    ~Impl() {
        if (transport_) transport_->close();
    }

    bool connect(std::string& error);
    void disconnect(uint8_t reason, const Properties* props);
    uint16_t publish(std::string_view topic, std::string_view payload, QoS qos, bool retain, const Properties* props);
    uint16_t subscribe(std::span<const TopicSubscription> topics, const Properties* props);
    uint16_t unsubscribe(std::span<const std::string_view> filters, const Properties* props);

    std::function<void(const ConnackInfo&)> on_connect_;
    std::function<void(const DisconnectInfo&)> on_disconnect_;
    std::function<void(const Publish&)> on_message_;
    std::function<void(uint16_t, uint8_t)> on_published_;
    std::function<void(const SubackInfo&)> on_subscribed_;
    std::function<void(const SubackInfo&)> on_unsubscribed_;
    std::function<void(const std::string&)> on_log_;
    std::function<void(size_t)> on_written_;

    enum class State { kIdle, kConnecting, kWaitConnack, kConnected, kDisconnecting };

    EventLoop& loop_;
    ClientOptions opts_;
    std::string client_id_;
    State state_ = State::kIdle;
    bool user_disconnect_ = false;
    bool connected_before_ = false;
    uint64_t generation_ = 0;  // bumped on every close so stale completions are ignored
    std::unique_ptr<Transport> transport_;

    Bytes out_;      // encoded, not yet handed to the socket
    Bytes writing_;  // handed to the socket
    bool write_in_flight_ = false;
    std::vector<uint16_t> qos0_queued_, qos0_writing_;

    Bytes rbuf_;
    size_t rbegin_ = 0, rend_ = 0;
    FrameSplitter splitter_;

    InflightStore inflight_;
    std::unordered_set<uint16_t> incoming_qos2_;
    std::unordered_set<uint16_t> pending_acks_;  // SUBSCRIBE / UNSUBSCRIBE ids
    uint16_t last_id_ = 0;

    uint16_t keep_alive_ = 0;
    Timer keepalive_timer_;
    Clock::time_point last_sent_{};
    Clock::time_point connect_sent_{};
    Clock::time_point ping_sent_{};
    bool ping_outstanding_ = false;

    Timer reconnect_timer_;
    int reconnect_attempt_ = 0;
    std::mt19937 rng_{std::random_device{}()};
    std::shared_ptr<int> alive_;

  private:
    friend class Client;
    bool debugging() const { return opts_.debug && on_log_; }
    void log(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
    uint16_t nextPacketId();
    void startConnect();
    void onTransportConnected();
    void startRead();
    void handleFrame(const Frame& f);
    void handleConnack(const Connack& c);
    void handlePublish(const Publish& p);
    void handlePubAck(const PubAck& a);
    void sendAck(PacketType type, uint16_t id, uint8_t reason = 0);
    void flush();
    void startWrite();
    void fail(std::string error, int server_reason = -1);
    void closeTransport();
    void scheduleReconnect();
    void armKeepalive();
    void keepaliveTick();
    template <class F>
    auto guard(F fn) {
        return [w = std::weak_ptr<int>(alive_), gen = generation_, this, fn = std::move(fn)](auto&&... args) mutable {
            if (w.expired() || gen != generation_) return;
            fn(std::forward<decltype(args)>(args)...);
        };
    }
};

void Client::Impl::log(const char* fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    on_log_(buf);
}

uint16_t Client::Impl::nextPacketId() {
    for (int tries = 0; tries < 65536; ++tries) {
        if (++last_id_ == 0) last_id_ = 1;
        if (!inflight_.contains(last_id_) && !pending_acks_.count(last_id_)) return last_id_;
    }
    return 0;
}

bool Client::Impl::connect(std::string& error) {
    auto& io = ioContext(loop_);
    if (opts_.tls.enabled) {
        transport_ = makeTlsTransport(io, opts_.tls, opts_.tcp_nodelay, error);
        if (!transport_) return false;
    } else {
        transport_ = makeTcpTransport(io, opts_.tcp_nodelay);
    }
    user_disconnect_ = false;
    startConnect();
    return true;
}

void Client::Impl::startConnect() {
    state_ = State::kConnecting;
    if (!transport_) {
        std::string ignored;
        auto& io = ioContext(loop_);
        transport_ = opts_.tls.enabled ? makeTlsTransport(io, opts_.tls, opts_.tcp_nodelay, ignored)
                                       : makeTcpTransport(io, opts_.tcp_nodelay);
    }
    transport_->asyncConnect(opts_.host, opts_.port,
                             guard([this](const boost::system::error_code& ec, const std::string& what) {
                                 if (ec) return fail(what.empty() ? ec.message() : what);
                                 onTransportConnected();
                             }));
}

void Client::Impl::onTransportConnected() {
    Connect c;
    c.version = opts_.version;
    c.clean_start = opts_.clean_start;
    c.keep_alive = opts_.keep_alive;
    c.client_id = client_id_;
    if (opts_.will) {
        Will w;
        w.topic = opts_.will->topic;
        w.payload = opts_.will->payload;
        w.qos = opts_.will->qos;
        w.retain = opts_.will->retain;
        if (opts_.version == ProtocolVersion::kV5) w.properties = opts_.will->properties.view();
        c.will = w;
    }
    if (opts_.username) c.username = *opts_.username;
    if (opts_.password) c.password = *opts_.password;
    if (opts_.version == ProtocolVersion::kV5) c.properties = opts_.connect_properties.view();
    writing_.clear();
    encodeConnect(writing_, c);
    if (debugging()) log("Client %s sending CONNECT", client_id_.c_str());
    state_ = State::kWaitConnack;
    rbegin_ = rend_ = 0;
    connect_sent_ = Clock::now();
    startWrite();
    startRead();
}

void Client::Impl::startRead() {
    if (rbegin_ == rend_) {
        rbegin_ = rend_ = 0;
    } else if (rend_ == rbuf_.size()) {
        if (rbegin_ > 0) {
            std::memmove(rbuf_.data(), rbuf_.data() + rbegin_, rend_ - rbegin_);
            rend_ -= rbegin_;
            rbegin_ = 0;
        } else {
            rbuf_.resize(rbuf_.size() * 2);
        }
    }
    transport_->asyncReadSome(
        boost::asio::buffer(rbuf_.data() + rend_, rbuf_.size() - rend_),
        guard([this](const boost::system::error_code& ec, size_t n) {
            if (ec) {
                if (state_ == State::kDisconnecting) return fail("");
                return fail(ec == boost::asio::error::eof ? "The connection was lost." : ec.message());
            }
            rend_ += n;
            uint64_t gen = generation_;
            while (rbegin_ < rend_) {
                SplitResult r = splitter_.next(ByteSpan(rbuf_.data() + rbegin_, rend_ - rbegin_));
                if (r.status == SplitStatus::kNeedMore) {
                    if (r.needed > rbuf_.size()) rbuf_.resize(r.needed);
                    break;
                }
                if (r.status == SplitStatus::kError) return fail("Malformed packet from server.");
                handleFrame(r.frame);
                if (gen != generation_) return;  // the frame closed the connection
                rbegin_ += r.frame.size;
            }
            startRead();
        }));
}

void Client::Impl::handleFrame(const Frame& f) {
    switch (f.type()) {
        case PacketType::kConnack: {
            auto c = decodeConnack(f.flags(), f.body, opts_.version);
            if (!c) return fail("Malformed CONNACK.");
            return handleConnack(*c);
        }
        case PacketType::kPublish: {
            auto p = decodePublish(f.flags(), f.body, opts_.version);
            if (!p) return fail("Malformed PUBLISH.");
            return handlePublish(*p);
        }
        case PacketType::kPuback:
        case PacketType::kPubrec:
        case PacketType::kPubrel:
        case PacketType::kPubcomp: {
            auto a = decodePubAck(f.first_byte, f.body, opts_.version);
            if (!a) return fail("Malformed acknowledgement.");
            return handlePubAck(*a);
        }
        case PacketType::kSuback: {
            auto s = decodeSuback(f.flags(), f.body, opts_.version);
            if (!s) return fail("Malformed SUBACK.");
            if (debugging()) log("Client %s received SUBACK", client_id_.c_str());
            pending_acks_.erase(s->packet_id);
            if (on_subscribed_) on_subscribed_({s->packet_id, s->codes, &s->properties});
            return;
        }
        case PacketType::kUnsuback: {
            auto u = decodeUnsuback(f.flags(), f.body, opts_.version);
            if (!u) return fail("Malformed UNSUBACK.");
            if (debugging()) log("Client %s received UNSUBACK", client_id_.c_str());
            pending_acks_.erase(u->packet_id);
            if (on_unsubscribed_) on_unsubscribed_({u->packet_id, u->codes, &u->properties});
            return;
        }
        case PacketType::kPingresp:
            if (debugging()) log("Client %s received PINGRESP", client_id_.c_str());
            ping_outstanding_ = false;
            return;
        case PacketType::kDisconnect: {
            auto d = decodeDisconnect(f.flags(), f.body, opts_.version);
            int reason = d ? static_cast<int>(d->reason) : static_cast<int>(ReasonCode::kMalformedPacket);
            if (debugging()) log("Client %s received DISCONNECT (%d)", client_id_.c_str(), reason);
            return fail(std::string(reasonCodeName(static_cast<ReasonCode>(reason))), reason);
        }
        default:
            return fail("Protocol error.");
    }
}

void Client::Impl::handleConnack(const Connack& c) {
    if (state_ != State::kWaitConnack) return fail("Protocol error.");
    if (debugging()) log("Client %s received CONNACK (%d)", client_id_.c_str(), c.code);
    ConnackInfo info{c.code, c.session_present, &c.properties, connect_sent_};
    if (c.code != 0) {
        // Refused: report, then close without reconnecting [MQTT-3.2.2-5].
        user_disconnect_ = true;
        if (on_connect_) on_connect_(info);
        return fail("Connection refused by the server.");
    }
    state_ = State::kConnected;
    connected_before_ = true;
    reconnect_attempt_ = 0;
    keep_alive_ = opts_.keep_alive;
    if (opts_.version == ProtocolVersion::kV5) {
        if (c.properties.assigned_client_identifier) client_id_ = *c.properties.assigned_client_identifier;
        if (c.properties.server_keep_alive) keep_alive_ = *c.properties.server_keep_alive;
        uint16_t window = opts_.max_inflight;
        if (c.properties.receive_maximum && *c.properties.receive_maximum < window) {
            window = *c.properties.receive_maximum;
        }
        inflight_.setWindow(window);
    }
    if (!c.session_present) incoming_qos2_.clear();
    // Resend unacknowledged messages ahead of anything queued while offline [MQTT-4.4.0-1].
    Bytes resent;
    inflight_.resend([&](const Bytes& pkt) { resent.insert(resent.end(), pkt.begin(), pkt.end()); },
                     [&](uint16_t id) {
                         PubAck rel;
                         rel.type = PacketType::kPubrel;
                         rel.packet_id = id;
                         encodePubAck(resent, rel, opts_.version);
                     });
    resent.insert(resent.end(), out_.begin(), out_.end());
    out_.swap(resent);
    inflight_.drain([this](const Bytes& pkt) { out_.insert(out_.end(), pkt.begin(), pkt.end()); });
    ping_outstanding_ = false;
    armKeepalive();
    if (on_connect_) on_connect_(info);
    flush();
}

void Client::Impl::handlePublish(const Publish& p) {
    if (debugging()) {
        log("Client %s received PUBLISH (d%d, q%d, r%d, m%d, '%.*s', ... (%zu bytes))", client_id_.c_str(), p.dup,
            static_cast<int>(p.qos), p.retain, p.packet_id, static_cast<int>(p.topic.size()), p.topic.data(),
            p.payload.size());
    }
    switch (p.qos) {
        case QoS::kAtMostOnce:
            if (on_message_) on_message_(p);
            break;
        case QoS::kAtLeastOnce:
            if (on_message_) on_message_(p);
            sendAck(PacketType::kPuback, p.packet_id);
            break;
        case QoS::kExactlyOnce:
            // Method A: deliver on first receipt, remember the id until PUBREL [MQTT-4.3.3-9].
            if (incoming_qos2_.insert(p.packet_id).second && on_message_) on_message_(p);
            sendAck(PacketType::kPubrec, p.packet_id);
            break;
    }
}

void Client::Impl::handlePubAck(const PubAck& a) {
    uint8_t reason = static_cast<uint8_t>(a.reason);
    switch (a.type) {
        case PacketType::kPuback:
            if (debugging()) log("Client %s received PUBACK (Mid: %d, RC:%d)", client_id_.c_str(), a.packet_id, reason);
            if (inflight_.onPuback(a.packet_id) && on_published_) on_published_(a.packet_id, reason);
            break;
        case PacketType::kPubrec: {
            if (debugging()) log("Client %s received PUBREC (Mid: %d)", client_id_.c_str(), a.packet_id);
            bool completed = false;
            if (inflight_.onPubrec(a.packet_id, reason >= 0x80, completed)) {
                sendAck(PacketType::kPubrel, a.packet_id);
            } else if (completed && on_published_) {
                on_published_(a.packet_id, reason);
            }
            break;
        }
        case PacketType::kPubrel:
            if (debugging()) log("Client %s received PUBREL (Mid: %d)", client_id_.c_str(), a.packet_id);
            incoming_qos2_.erase(a.packet_id);
            sendAck(PacketType::kPubcomp, a.packet_id);
            break;
        case PacketType::kPubcomp:
            if (debugging())
                log("Client %s received PUBCOMP (Mid: %d, RC:%d)", client_id_.c_str(), a.packet_id, reason);
            if (inflight_.onPubcomp(a.packet_id) && on_published_) on_published_(a.packet_id, reason);
            break;
        default:
            break;
    }
    inflight_.drain([this](const Bytes& pkt) { out_.insert(out_.end(), pkt.begin(), pkt.end()); });
    flush();
}

void Client::Impl::sendAck(PacketType type, uint16_t id, uint8_t reason) {
    if (debugging()) {
        if (type == PacketType::kPuback || type == PacketType::kPubrec) {
            log("Client %s sending %s (m%d, rc%d)", client_id_.c_str(),
                type == PacketType::kPuback ? "PUBACK" : "PUBREC", id, reason);
        } else {
            log("Client %s sending %s (m%d)", client_id_.c_str(), type == PacketType::kPubrel ? "PUBREL" : "PUBCOMP",
                id);
        }
    }
    PubAck a;
    a.type = type;
    a.packet_id = id;
    a.reason = static_cast<ReasonCode>(reason);
    encodePubAck(out_, a, opts_.version);
    flush();
}

uint16_t Client::Impl::publish(std::string_view topic, std::string_view payload, QoS qos, bool retain,
                               const Properties* props) {
    Publish p;
    p.qos = qos;
    p.retain = retain;
    p.topic = topic;
    p.payload = payload;
    if (props && opts_.version == ProtocolVersion::kV5) p.properties = *props;
    uint16_t mid;
    if (qos == QoS::kAtMostOnce) {
        mid = ++last_id_ ? last_id_ : ++last_id_;
        encodePublish(out_, p, opts_.version);
        if (on_published_) qos0_queued_.push_back(mid);
    } else {
        mid = nextPacketId();
        if (mid == 0) return 0;
        p.packet_id = mid;
        Bytes pkt;
        pkt.reserve(topic.size() + payload.size() + 16);
        encodePublish(pkt, p, opts_.version);
        inflight_.add(mid, qos, std::move(pkt));
        if (state_ == State::kConnected) {
            inflight_.drain([this](const Bytes& b) { out_.insert(out_.end(), b.begin(), b.end()); });
        }
    }
    if (debugging()) {
        log("Client %s sending PUBLISH (d0, q%d, r%d, m%d, '%.*s', ... (%zu bytes))", client_id_.c_str(),
            static_cast<int>(qos), retain, mid, static_cast<int>(topic.size()), topic.data(), payload.size());
    }
    flush();
    return mid;
}

uint16_t Client::Impl::subscribe(std::span<const TopicSubscription> topics, const Properties* props) {
    Subscribe s;
    s.packet_id = nextPacketId();
    s.topics.assign(topics.begin(), topics.end());
    if (props && opts_.version == ProtocolVersion::kV5) s.properties = *props;
    pending_acks_.insert(s.packet_id);
    if (debugging()) {
        for (const auto& t : topics) {
            uint8_t o = static_cast<uint8_t>(t.options.qos) | (t.options.no_local ? 0x04 : 0) |
                        (t.options.retain_as_published ? 0x08 : 0) | (t.options.retain_handling << 4);
            log("Client %s sending SUBSCRIBE (Mid: %d, Topic: %.*s, QoS: %d, Options: 0x%02x)", client_id_.c_str(),
                s.packet_id, static_cast<int>(t.filter.size()), t.filter.data(), static_cast<int>(t.options.qos),
                o & 0xFC);
        }
    }
    encodeSubscribe(out_, s, opts_.version);
    flush();
    return s.packet_id;
}

uint16_t Client::Impl::unsubscribe(std::span<const std::string_view> filters, const Properties* props) {
    Unsubscribe u;
    u.packet_id = nextPacketId();
    u.filters.assign(filters.begin(), filters.end());
    if (props && opts_.version == ProtocolVersion::kV5) u.properties = *props;
    pending_acks_.insert(u.packet_id);
    if (debugging()) {
        for (auto f : filters) {
            log("Client %s sending UNSUBSCRIBE (Mid: %d, Topic: %.*s)", client_id_.c_str(), u.packet_id,
                static_cast<int>(f.size()), f.data());
        }
    }
    encodeUnsubscribe(out_, u, opts_.version);
    flush();
    return u.packet_id;
}

void Client::Impl::disconnect(uint8_t reason, const Properties* props) {
    user_disconnect_ = true;
    reconnect_timer_.cancel();
    if (state_ != State::kConnected) {
        if (state_ != State::kIdle) fail("");
        return;
    }
    Disconnect d;
    d.reason = static_cast<ReasonCode>(reason);
    if (props) d.properties = *props;
    if (debugging()) log("Client %s sending DISCONNECT", client_id_.c_str());
    encodeDisconnect(out_, d, opts_.version);
    state_ = State::kDisconnecting;
    flush();
}

void Client::Impl::flush() {
    if (write_in_flight_ || out_.empty()) return;
    if (state_ != State::kConnected && state_ != State::kDisconnecting) return;
    writing_.clear();
    writing_.swap(out_);
    qos0_writing_.swap(qos0_queued_);
    startWrite();
}

void Client::Impl::startWrite() {
    write_in_flight_ = true;
    last_sent_ = Clock::now();
    std::vector<boost::asio::const_buffer> bufs{boost::asio::buffer(writing_)};
    transport_->asyncWrite(bufs, guard([this](const boost::system::error_code& ec, size_t) {
                               write_in_flight_ = false;
                               if (ec) return fail(ec.message());
                               if (on_published_ && !qos0_writing_.empty()) {
                                   std::vector<uint16_t> done;
                                   done.swap(qos0_writing_);
                                   for (uint16_t mid : done)
                                       on_published_(mid, 0);
                               }
                               qos0_writing_.clear();
                               if (state_ == State::kDisconnecting && out_.empty()) return fail("");
                               flush();
                               if (on_written_) on_written_(out_.size());
                           }));
}

void Client::Impl::closeTransport() {
    ++generation_;
    keepalive_timer_.cancel();
    if (transport_) transport_->close();
    transport_.reset();
    write_in_flight_ = false;
    out_.clear();
    writing_.clear();
    qos0_queued_.clear();
    qos0_writing_.clear();
    pending_acks_.clear();
    rbegin_ = rend_ = 0;
}

void Client::Impl::fail(std::string error, int server_reason) {
    if (state_ == State::kIdle) return;
    bool was_connected = state_ == State::kConnected || state_ == State::kDisconnecting;
    closeTransport();
    state_ = State::kIdle;
    DisconnectInfo info;
    info.error = std::move(error);
    info.connected_before = was_connected;
    info.server_reason = server_reason;
    info.will_reconnect = opts_.reconnect.enabled && !user_disconnect_;
    if (info.will_reconnect) scheduleReconnect();
    if (on_disconnect_) on_disconnect_(info);
}

void Client::Impl::scheduleReconnect() {
    auto base = opts_.reconnect.initial_delay.count();
    auto cap = opts_.reconnect.max_delay.count();
    int64_t d = base;
    for (int i = 0; i < reconnect_attempt_ && d < cap; ++i)
        d *= 2;
    d = std::min<int64_t>(d, cap);
    std::uniform_int_distribution<int64_t> jitter(d / 2, std::max<int64_t>(d, 1));
    ++reconnect_attempt_;
    reconnect_timer_.start(std::chrono::milliseconds(jitter(rng_)), [this] {
        if (!user_disconnect_ && state_ == State::kIdle) startConnect();
    });
}

void Client::Impl::armKeepalive() {
    if (keep_alive_ == 0) return;
    auto ka = std::chrono::seconds(keep_alive_);
    auto due = last_sent_ + ka;
    if (ping_outstanding_) due = std::min(due, ping_sent_ + ka);
    keepalive_timer_.startAt(due, [this] { keepaliveTick(); });
}

void Client::Impl::keepaliveTick() {
    if (state_ != State::kConnected && state_ != State::kDisconnecting) return;
    auto now = Clock::now();
    auto ka = std::chrono::seconds(keep_alive_);
    if (ping_outstanding_ && now - ping_sent_ >= ka) return fail("Keepalive timeout.");
    if (now - last_sent_ >= ka && !ping_outstanding_) {
        if (debugging()) log("Client %s sending PINGREQ", client_id_.c_str());
        encodePingreq(out_);
        ping_outstanding_ = true;
        ping_sent_ = now;
        flush();
    }
    armKeepalive();
}

Client::Client(EventLoop& loop, ClientOptions options) : impl_(std::make_unique<Impl>(loop, std::move(options))) {}
Client::~Client() = default;

bool Client::connect(std::string& error) {
    return impl_->connect(error);
}
void Client::disconnect(uint8_t reason, const Properties* properties) {
    impl_->disconnect(reason, properties);
}
uint16_t Client::publish(std::string_view topic, std::string_view payload, QoS qos, bool retain,
                         const Properties* properties) {
    return impl_->publish(topic, payload, qos, retain, properties);
}
uint16_t Client::subscribe(std::span<const TopicSubscription> topics, const Properties* properties) {
    return impl_->subscribe(topics, properties);
}
uint16_t Client::unsubscribe(std::span<const std::string_view> filters, const Properties* properties) {
    return impl_->unsubscribe(filters, properties);
}
void Client::onConnect(std::function<void(const ConnackInfo&)> fn) {
    impl_->on_connect_ = std::move(fn);
}
void Client::onDisconnect(std::function<void(const DisconnectInfo&)> fn) {
    impl_->on_disconnect_ = std::move(fn);
}
void Client::onMessage(std::function<void(const Publish&)> fn) {
    impl_->on_message_ = std::move(fn);
}
void Client::onPublished(std::function<void(uint16_t, uint8_t)> fn) {
    impl_->on_published_ = std::move(fn);
}
void Client::onSubscribed(std::function<void(const SubackInfo&)> fn) {
    impl_->on_subscribed_ = std::move(fn);
}
void Client::onUnsubscribed(std::function<void(const SubackInfo&)> fn) {
    impl_->on_unsubscribed_ = std::move(fn);
}
void Client::onLog(std::function<void(const std::string&)> fn) {
    impl_->on_log_ = std::move(fn);
}
void Client::onWritten(std::function<void(size_t)> fn) {
    impl_->on_written_ = std::move(fn);
}
bool Client::connected() const {
    return impl_->state_ == Impl::State::kConnected;
}
size_t Client::queuedBytes() const {
    return impl_->out_.size();
}
size_t Client::inflightCount() const {
    return impl_->inflight_.size();
}
const ClientOptions& Client::options() const {
    return impl_->opts_;
}
const std::string& Client::clientId() const {
    return impl_->client_id_;
}

}  // namespace starling::client
