#include "client/inflight_store.hpp"

#include <algorithm>
#include <vector>

namespace starling::client {

void InflightStore::add(uint16_t id, protocol::QoS qos, protocol::Bytes packet) {
    Entry& e = entries_[id];
    e.packet = std::move(packet);
    e.seq = next_seq_++;
    e.qos = qos;
    e.stage = Stage::kWaiting;
    waiting_.push_back(id);
}

void InflightStore::drain(const std::function<void(const protocol::Bytes&)>& send) {
    while (active_ < window_ && !waiting_.empty()) {
        uint16_t id = waiting_.front();
        waiting_.pop_front();
        auto it = entries_.find(id);
        if (it == entries_.end()) continue;
        it->second.stage = Stage::kAwaitAck;
        ++active_;
        send(it->second.packet);
    }
}

void InflightStore::finish(uint16_t id) {
    entries_.erase(id);
    if (active_ > 0) --active_;
}

bool InflightStore::onPuback(uint16_t id) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.qos != protocol::QoS::kAtLeastOnce || it->second.stage != Stage::kAwaitAck) {
        return false;
    }
    finish(id);
    return true;
}

bool InflightStore::onPubrec(uint16_t id, bool failure, bool& completed) {
    completed = false;
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.qos != protocol::QoS::kExactlyOnce) return false;
    if (it->second.stage == Stage::kAwaitPubcomp) return true;  // a repeated PUBREC: answer PUBREL again
    if (it->second.stage != Stage::kAwaitAck) return false;
    if (failure) {
        finish(id);
        completed = true;
        return false;
    }
    it->second.stage = Stage::kAwaitPubcomp;
    it->second.packet = protocol::Bytes{};  // the payload is not needed any more [MQTT-4.3.3-4]
    return true;
}

bool InflightStore::onPubcomp(uint16_t id) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.stage != Stage::kAwaitPubcomp) return false;
    finish(id);
    return true;
}

void InflightStore::resend(const std::function<void(const protocol::Bytes&)>& send_publish,
                           const std::function<void(uint16_t)>& send_pubrel) {
    std::vector<std::pair<uint64_t, uint16_t>> order;
    for (auto& [id, e] : entries_) {
        if (e.stage != Stage::kWaiting) order.emplace_back(e.seq, id);
    }
    std::sort(order.begin(), order.end());
    for (auto [seq, id] : order) {
        Entry& e = entries_[id];
        if (e.stage == Stage::kAwaitAck) {
            e.packet[0] |= 0x08;  // DUP [MQTT-3.3.1-1]
            send_publish(e.packet);
        } else {
            send_pubrel(id);
        }
    }
}

void InflightStore::clear() {
    entries_.clear();
    waiting_.clear();
    active_ = 0;
}

}  // namespace starling::client
