#pragma once
// TLS settings of a client connection, as mosquitto's tools take them (--cafile --capath --cert --key
// --insecure --tls-version). Plain values; any thread.
#include <string>

namespace starling::client {

struct TlsOptions {
    bool enabled = false;
    std::string cafile;
    std::string capath;
    std::string certfile;
    std::string keyfile;
    std::string version;    // "tlsv1.3", "tlsv1.2", "tlsv1.1" or empty for the library default
    bool insecure = false;  // skip the host-name check (the chain is still verified)
    bool use_os_certs = false;
};

}  // namespace starling::client
