// starling_pub: publishes one message (or a file, stdin, lines of stdin) and exits; mosquitto_pub's flags,
// messages and exit codes.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "client/client.hpp"
#include "tools/common/client_config.hpp"
#include "tools/common/tool_support.hpp"

using namespace starling;
using namespace starling::tools;

namespace {

void printUsage() {
    std::printf(
        "starling_pub is a simple mqtt client that will publish a message on a single topic and exit.\n"
        "starling_pub version %s.\n\n"
        "Usage: starling_pub {[-h host] [-p port] [-u username] [-P password] -t topic | -L URL}\n"
        "                     {-f file | -l | -n | -m message}\n"
        "                     [-c] [-k keepalive] [-q qos] [-r] [--repeat N] [--repeat-delay time] [-x "
        "session-expiry]\n"
        "                     [-i id] [-I id_prefix]\n"
        "                     [-d] [--quiet]\n"
        "                     [-M max_inflight]\n"
        "                     [-u username [-P password]]\n"
        "                     [--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]\n"
        "                     [{--cafile file | --capath dir} [--cert file] [--key file] [--insecure]\n"
        "                       [--tls-version version]]\n"
        "                     [-D command identifier value]\n"
        "       starling_pub --help\n\n"
        "Flags are those of mosquitto_pub; see `man mosquitto_pub`.\n\n",
        starlingVersion().c_str());
}

struct PubApp {
    ClientConfig cfg;
    client::EventLoop loop;
    std::unique_ptr<client::Client> mqtt;
    std::string payload;
    int exit_code = 0;
    int sent = 0;       // publishes handed to the client
    int completed = 0;  // publishes acknowledged / written
    bool input_done = false;
    bool connected = false;
    client::Timer repeat_timer{loop};

    void maybeFinish() {
        if (input_done && completed >= sent) mqtt->disconnect();
    }

    void publishOne(std::string_view body) {
        ++sent;
        mqtt->publish(cfg.topic, body, static_cast<protocol::QoS>(cfg.qos), cfg.retain, &cfg.publish_props.view());
    }

    void publishRepeated() {
        publishOne(payload);
        if (sent < cfg.repeat_count) {
            if (cfg.repeat_delay > 0) {
                repeat_timer.start(std::chrono::microseconds(static_cast<long long>(cfg.repeat_delay * 1e6)),
                                   [this] { publishRepeated(); });
            } else {
                loop.post([this] { publishRepeated(); });
            }
        } else {
            input_done = true;
        }
    }

    int run() {
        mqtt = std::make_unique<client::Client>(loop, toClientOptions(cfg, getpid()));
        if (cfg.debug) {
            mqtt->onLog([](const std::string& line) {
                std::printf("%s\n", line.c_str());
                std::fflush(stdout);
            });
        }
        mqtt->onConnect([this](const client::ConnackInfo& c) {
            if (c.code != 0) {
                errPrintf(cfg, "Connection error: %s\n", connackText(cfg.version, c.code).c_str());
                exit_code = c.code;
                return;
            }
            if (connected) return;
            connected = true;
            if (cfg.pub_mode != PubMode::kStdinLine) publishRepeated();
        });
        mqtt->onPublished([this](uint16_t, uint8_t) {
            ++completed;
            maybeFinish();
        });
        mqtt->onDisconnect([this](const client::DisconnectInfo& d) {
            if (!d.error.empty()) {
                if (exit_code != 0) {
                    errPrintf(cfg, "Error: %s\n",
                              cfg.version == protocol::ProtocolVersion::kV5
                                  ? "A network protocol error occurred when communicating with the broker."
                                  : "The connection was refused.");
                } else {
                    errPrintf(cfg, "Error: %s\n", d.error.c_str());
                    exit_code = 1;
                }
            }
            loop.stop();
        });
        std::string error;
        if (!mqtt->connect(error)) {
            errPrintf(cfg, "Error: %s\n", error.c_str());
            return 1;
        }
        std::thread reader;
        if (cfg.pub_mode == PubMode::kStdinLine) {
            // Lines are read on their own thread and published on the loop as they come.
            reader = std::thread([this] {
                std::string line;
                while (std::getline(std::cin, line)) {
                    loop.post([this, line] { publishOne(line); });
                }
                loop.post([this] {
                    input_done = true;
                    maybeFinish();
                });
            });
            reader.detach();
        }
        SignalWatch signals(loop, [this] { mqtt->disconnect(); });
        loop.run();
        return exit_code;
    }
};

bool readAll(std::istream& in, std::string& out) {
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

}  // namespace

int main(int argc, char* argv[]) {
    PubApp app;
    std::string error;
    switch (parseClientConfig(app.cfg, ToolKind::kPub, argc, argv, error)) {
        case ParseStatus::kHelp:
            printUsage();
            return 1;
        case ParseStatus::kVersion:
            std::printf("starling_pub version %s.\n", starlingVersion().c_str());
            return 0;
        case ParseStatus::kError:
            printUsageHint(error, "starling_pub");
            return 1;
        case ParseStatus::kOk:
            break;
    }
    auto& cfg = app.cfg;
    if (cfg.topic.empty() || cfg.pub_mode == PubMode::kNone) {
        std::fprintf(stderr, "Error: Both topic and message must be supplied.\n");
        printUsage();
        return 1;
    }
    switch (cfg.pub_mode) {
        case PubMode::kMessage:
            app.payload = cfg.message;
            break;
        case PubMode::kFile: {
            std::ifstream f(cfg.file_input, std::ios::binary);
            if (!f) {
                errPrintf(cfg, "Error: Unable to open file \"%s\".\n", cfg.file_input.c_str());
                return 1;
            }
            readAll(f, app.payload);
            break;
        }
        case PubMode::kStdinFile:
            readAll(std::cin, app.payload);
            break;
        default:
            break;
    }
    return app.run();
}
