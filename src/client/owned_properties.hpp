#pragma once
// MQTT 5 properties that own their strings: protocol::Properties holds views, a client must keep the bytes
// it sends alive (across reconnects too). Copying re-points every view at the copy's own storage.
// Plain value; not thread-safe.
#include <deque>
#include <string>
#include <string_view>

#include "protocol/properties.hpp"

namespace starling::client {

class OwnedProperties {
  public:
    OwnedProperties() = default;
    explicit OwnedProperties(const protocol::Properties& views) { assign(views); }
    OwnedProperties(const OwnedProperties& other) { assign(other.props_); }
    OwnedProperties& operator=(const OwnedProperties& other);
    OwnedProperties(OwnedProperties&&) = default;  // deque elements do not move: views stay valid
    OwnedProperties& operator=(OwnedProperties&&) = default;

    // Copies `views` and every string it points to.
    void assign(const protocol::Properties& views);
    // Keeps a copy of `s` and returns a view of the copy, for setting string fields of mutableView().
    std::string_view intern(std::string_view s);
    void addUserProperty(std::string_view name, std::string_view value);

    const protocol::Properties& view() const { return props_; }
    // Numeric fields may be set directly; string fields must point at intern()ed strings.
    protocol::Properties& mutableView() { return props_; }
    bool empty() const { return props_.empty(); }

  private:
    protocol::Properties props_;
    std::deque<std::string> storage_;
};

}  // namespace starling::client
