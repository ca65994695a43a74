#include "broker/session.hpp"

#include <algorithm>

namespace starling::broker {

uint16_t Session::nextPacketId() {
    // Ids are handed out in order and `inflight` keeps send order, so the ids in use lie on the circular
    // interval from inflight.front() to the last one handed out. The next id is free unless it reaches the
    // front again (the interval then covers every id): only then look for a hole. O(1) per message instead of
    // a scan of the whole window.
    if (++next_packet_id_ == 0) next_packet_id_ = 1;
    if (inflight.empty() || inflight.front().packet_id != next_packet_id_) return next_packet_id_;
    for (;;) {
        if (++next_packet_id_ == 0) next_packet_id_ = 1;
        uint16_t id = next_packet_id_;
        bool used = std::any_of(inflight.begin(), inflight.end(), [id](const auto& e) { return e.packet_id == id; });
        if (!used) return id;
    }
}

}  // namespace starling::broker
