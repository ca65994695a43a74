#include "client/owned_properties.hpp"

namespace starling::client {

OwnedProperties& OwnedProperties::operator=(const OwnedProperties& other) {
    if (this != &other) {
        protocol::Properties copy = other.props_;
        std::deque<std::string> old;
        old.swap(storage_);  // `other` may not alias our storage, but keep the old bytes until copied anyway
        assign(copy);
    }
    return *this;
}

std::string_view OwnedProperties::intern(std::string_view s) {
    storage_.emplace_back(s);
    return storage_.back();
}

void OwnedProperties::assign(const protocol::Properties& views) {
    std::deque<std::string> old;
    old.swap(storage_);
    props_ = views;
    auto own = [this](std::optional<std::string_view>& f) {
        if (f) f = intern(*f);
    };
    own(props_.content_type);
    own(props_.response_topic);
    own(props_.correlation_data);
    own(props_.assigned_client_identifier);
    own(props_.authentication_method);
    own(props_.authentication_data);
    own(props_.response_information);
    own(props_.server_reference);
    own(props_.reason_string);
    for (auto& up : props_.user_properties) {
        up.name = intern(up.name);
        up.value = intern(up.value);
    }
}

void OwnedProperties::addUserProperty(std::string_view name, std::string_view value) {
    auto n = intern(name);
    auto v = intern(value);
    props_.user_properties.push_back({n, v});
}

}  // namespace starling::client
