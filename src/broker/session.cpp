#include "broker/session.hpp"

#include <algorithm>

namespace starling::broker {

uint16_t Session::nextPacketId() {
    for (;;) {
        if (++next_packet_id_ == 0) next_packet_id_ = 1;
        uint16_t id = next_packet_id_;
        bool used = std::any_of(inflight.begin(), inflight.end(), [id](const auto& e) { return e.packet_id == id; });
        if (!used) return id;
    }
}

}  // namespace starling::broker
