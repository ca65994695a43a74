#include "broker/message.hpp"

#include <cstring>
#include <new>

namespace starling::broker {

MessagePtr Message::create(const Init& init) {
    size_t extra = init.topic.size() + init.properties.size() + init.payload.size();
    void* mem = ::operator new(sizeof(Message) + extra);
    auto* m = new (mem) Message();
    m->topic_size_ = static_cast<uint16_t>(init.topic.size());
    m->props_size_ = static_cast<uint32_t>(init.properties.size());
    m->payload_size_ = static_cast<uint32_t>(init.payload.size());
    m->qos_ = init.qos;
    m->retain_ = init.retain;
    m->expires_at_ms_ = init.expires_at_ms;
    m->origin_ = init.origin;
    char* p = reinterpret_cast<char*>(m + 1);
    if (!init.topic.empty()) std::memcpy(p, init.topic.data(), init.topic.size());
    p += init.topic.size();
    if (!init.properties.empty()) std::memcpy(p, init.properties.data(), init.properties.size());
    p += init.properties.size();
    if (!init.payload.empty()) std::memcpy(p, init.payload.data(), init.payload.size());
    return MessagePtr(m);
}

void Message::destroy(const Message* m) {
    m->~Message();
    ::operator delete(const_cast<Message*>(m));
}

}  // namespace starling::broker
