#pragma once
// Internal: reaches the io_context behind an EventLoop. Included by the library's .cpp files only.
#include <boost/asio/io_context.hpp>

#include "client/event_loop.hpp"

namespace starling::client {

inline boost::asio::io_context& ioContext(EventLoop& loop) {
    return *static_cast<boost::asio::io_context*>(loop.native());
}

}  // namespace starling::client
