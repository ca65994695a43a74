#include "net/websocket.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cstring>

namespace starling::net {

namespace http = boost::beast::http;

namespace {

constexpr size_t kMaxRequestHead = 16 * 1024;
constexpr uint64_t kMaxFrame = 268'435'460ull + 8;  // the largest MQTT packet, and then some

std::string acceptKey(std::string_view key) {
    std::string material(key);
    material += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455 section 1.3
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
    char out[64];
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out), digest, sizeof digest);
    return std::string(out, static_cast<size_t>(n));
}

void append(std::vector<uint8_t>& v, std::string_view s) {
    v.insert(v.end(), s.begin(), s.end());
}

}  // namespace

size_t WsSession::frameHeader(uint8_t* out, size_t n) {
    out[0] = 0x82;  // FIN, binary
    if (n < 126) {
        out[1] = static_cast<uint8_t>(n);
        return 2;
    }
    if (n <= 0xFFFF) {
        out[1] = 126;
        out[2] = static_cast<uint8_t>(n >> 8);
        out[3] = static_cast<uint8_t>(n);
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; ++i)
        out[2 + i] = static_cast<uint8_t>(uint64_t(n) >> (56 - 8 * i));
    return 10;
}

WsSession::Status WsSession::fail(std::string why, uint16_t code) {
    error_ = std::move(why);
    if (upgraded_ && !closing_) {
        uint8_t payload[2] = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
        control(0x8, payload, 2);
        closing_ = true;
    }
    return Status::kError;
}

void WsSession::control(uint8_t opcode, const uint8_t* data, size_t n) {
    control_.push_back(static_cast<uint8_t>(0x80 | opcode));
    control_.push_back(static_cast<uint8_t>(n));  // control frames carry at most 125 bytes
    control_.insert(control_.end(), data, data + n);
}

WsSession::Status WsSession::feed(const uint8_t* data, size_t n, std::vector<uint8_t>& buf, size_t& end) {
    if (!upgraded_) {
        in_.insert(in_.end(), data, data + n);
        auto s = handshake(buf, end);
        if (s != Status::kOk || !upgraded_) return s;
        // What followed the request head is the first frames.
        std::vector<uint8_t> rest = std::move(in_);
        in_.clear();
        return frames(rest.data(), rest.size(), buf, end);
    }
    return frames(data, n, buf, end);
}

WsSession::Status WsSession::handshake(std::vector<uint8_t>& buf, size_t& end) {
    static constexpr std::string_view kEnd = "\r\n\r\n";
    auto it = std::search(in_.begin(), in_.end(), kEnd.begin(), kEnd.end());
    if (it == in_.end()) {
        if (in_.size() > kMaxRequestHead) return fail("HTTP request head too large");
        return Status::kOk;
    }
    size_t head = static_cast<size_t>(it - in_.begin()) + kEnd.size();
    http::request_parser<http::empty_body> parser;
    parser.eager(true);
    boost::system::error_code ec;
    parser.put(boost::asio::buffer(in_.data(), head), ec);
    if (ec || !parser.is_header_done()) return fail("bad HTTP upgrade request: " + ec.message());
    const auto& req = parser.get();
    path_ = std::string(req.target());
    auto reply = [&](http::status status, std::string_view body) {
        std::string text = "HTTP/1.1 " + std::to_string(static_cast<int>(status)) + " " +
                           std::string(http::obsolete_reason(status)) + "\r\nContent-Type: text/plain\r\n" +
                           "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                           std::string(body);
        append(control_, text);
    };
    if (!boost::beast::websocket::is_upgrade(req)) {
        reply(http::status::upgrade_required, "This is an MQTT over WebSocket endpoint.\n");
        return fail("not a WebSocket upgrade request");
    }
    auto key = req[http::field::sec_websocket_key];
    if (key.empty() || req[http::field::sec_websocket_version] != "13") {
        reply(http::status::bad_request, "WebSocket version 13 and a key are required.\n");
        return fail("WebSocket upgrade without a key or version 13");
    }
    // Subprotocol: "mqtt" (MQTT 3.1.1 and 5.0), "mqttv3.1" (3.1); a client naming none is accepted too.
    std::string protocol;
    std::string offered(req[http::field::sec_websocket_protocol]);
    for (std::string_view want : {"mqtt", "mqttv3.1"}) {
        size_t pos = 0;
        while (protocol.empty() && (pos = offered.find(want, pos)) != std::string::npos) {
            size_t after = pos + want.size();
            bool starts = pos == 0 || offered[pos - 1] == ',' || offered[pos - 1] == ' ';
            bool ends = after == offered.size() || offered[after] == ',' || offered[after] == ' ';
            if (starts && ends) protocol = want;
            pos = after;
        }
    }
    if (!offered.empty() && protocol.empty()) {
        reply(http::status::bad_request, "Subprotocol mqtt required.\n");
        return fail("WebSocket subprotocol '" + offered + "' is not mqtt");
    }
    std::string response =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        acceptKey(key) + "\r\n";
    if (!protocol.empty()) response += "Sec-WebSocket-Protocol: " + protocol + "\r\n";
    response += "\r\n";
    append(control_, response);
    upgraded_ = true;
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(head));
    (void)buf;
    (void)end;
    return Status::kOk;
}

namespace {

// payload XOR mask, eight bytes at a time; `phase` is where in the 4-byte mask `src[0]` falls.
void unmask(uint8_t* dst, const uint8_t* src, size_t n, const uint8_t (&mask)[4], size_t phase) {
    uint8_t m[8];
    for (size_t i = 0; i < 8; ++i)
        m[i] = mask[(phase + i) & 3];
    uint64_t m64;
    std::memcpy(&m64, m, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        std::memcpy(&v, src + i, 8);
        v ^= m64;
        std::memcpy(dst + i, &v, 8);
    }
    for (; i < n; ++i)
        dst[i] = src[i] ^ m[i & 7];
}

}  // namespace

// Data frame payloads are unmasked straight from the socket's bytes into `buf` as they arrive, so a large
// message costs one pass and never waits whole in a buffer of ours; only frame headers and control frames
// (at most 14 + 125 bytes) are assembled in in_.
WsSession::Status WsSession::frames(const uint8_t* p, size_t n, std::vector<uint8_t>& buf, size_t& end) {
    for (;;) {
        if (payload_left_ > 0) {
            if (n == 0) return Status::kOk;
            size_t take = static_cast<size_t>(std::min<uint64_t>(payload_left_, n));
            if (buf.size() < end + take) buf.resize(std::max(end + take, buf.size() * 2));
            unmask(buf.data() + end, p, take, mask_, mask_phase_);
            end += take;
            mask_phase_ = (mask_phase_ + take) & 3;
            payload_left_ -= take;
            p += take;
            n -= take;
            continue;
        }
        // A frame header (and a control frame's payload): gather what it needs in in_.
        size_t need = 2;
        for (;;) {
            if (in_.size() >= 2) {
                uint8_t len7 = in_[1] & 0x7F;
                need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
                if ((in_[0] & 0x08) && len7 < 126) need += len7;  // control frame: its payload too
            }
            if (in_.size() >= need || n == 0) break;
            size_t take = std::min(need - in_.size(), n);
            in_.insert(in_.end(), p, p + take);
            p += take;
            n -= take;
        }
        if (in_.size() < need) return Status::kOk;  // the rest of the header comes later

        const uint8_t* h = in_.data();
        bool fin = h[0] & 0x80;
        uint8_t opcode = h[0] & 0x0F;
        if (h[0] & 0x70) return fail("WebSocket frame with reserved bits set");
        if (!(h[1] & 0x80)) return fail("unmasked WebSocket frame from a client (RFC 6455 5.1)");
        uint64_t len = h[1] & 0x7F;
        size_t header = 2;
        if (len == 126) {
            len = (uint64_t(h[2]) << 8) | h[3];
            header = 4;
        } else if (len == 127) {
            len = 0;
            for (int i = 0; i < 8; ++i)
                len = (len << 8) | h[2 + i];
            header = 10;
        }
        if (len > kMaxFrame) return fail("WebSocket frame too large", 1009);
        std::memcpy(mask_, h + header, 4);
        const uint8_t* payload = h + header + 4;
        switch (opcode) {
            case 0x0:  // continuation
            case 0x2:
                payload_left_ = len;
                mask_phase_ = 0;
                in_.clear();
                continue;
            case 0x1:
                return fail("text WebSocket frame: MQTT needs binary frames [MQTT-6.0.0-1]", 1003);
            case 0x8:
                if (!closing_) {
                    uint8_t echo[2] = {0x03, 0xE8};  // 1000 normal closure
                    control(0x8, echo, 2);
                    closing_ = true;
                }
                in_.clear();
                return Status::kClose;
            case 0x9: {
                if (len > 125 || !fin) return fail("bad WebSocket ping");
                uint8_t data[125];
                unmask(data, payload, static_cast<size_t>(len), mask_, 0);
                control(0xA, data, static_cast<size_t>(len));
                break;
            }
            case 0xA:
                if (len > 125) return fail("bad WebSocket pong");
                break;
            default:
                return fail("unknown WebSocket opcode " + std::to_string(opcode));
        }
        in_.clear();
    }
}

}  // namespace starling::net
