// starling_rr: MQTT 5 request / response. Subscribes to the response topic (-e), publishes the request with a
// Response Topic property, prints the first response and exits; mosquitto_rr's flags and exit codes.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "client/client.hpp"
#include "tools/common/client_config.hpp"
#include "tools/common/message_format.hpp"
#include "tools/common/tool_support.hpp"

using namespace starling;
using namespace starling::tools;

namespace {

void printUsage() {
    std::printf(
        "starling_rr is an mqtt client that can be used to publish a request message and wait for a response.\n"
        "starling_rr version %s.\n\n"
        "Usage: starling_rr {[-h host] [-p port] [-u username] [-P password] -t topic | -L URL} -e response-topic\n"
        "                    {-f file | -l | -n | -m message}\n"
        "                    [-c] [-k keepalive] [-q qos] [-R] [-x session-expiry-interval]\n"
        "                    [-F format] [-N] [-W timeout_secs] [-i id] [-I id_prefix] [-d] [--quiet] [-v]\n"
        "                    [-D command identifier value]\n"
        "       starling_rr --help\n\n"
        "Flags are those of mosquitto_rr; see `man mosquitto_rr`.\n\n",
        starlingVersion().c_str());
}

}  // namespace

int main(int argc, char* argv[]) {
    ClientConfig cfg;
    std::string error;
    switch (parseClientConfig(cfg, ToolKind::kRr, argc, argv, error)) {
        case ParseStatus::kHelp:
            printUsage();
            return 1;
        case ParseStatus::kVersion:
            std::printf("starling_rr version %s.\n", starlingVersion().c_str());
            return 0;
        case ParseStatus::kError:
            printUsageHint(error, "starling_rr");
            return 1;
        case ParseStatus::kOk:
            break;
    }
    if (cfg.topic.empty() || cfg.response_topic.empty() || cfg.pub_mode == PubMode::kNone) {
        printUsageHint("Error: All of topic, message, and response topic must be supplied.\n", "starling_rr");
        return 1;
    }
    client::EventLoop loop;
    client::Client mqtt(loop, toClientOptions(cfg, getpid()));
    int exit_code = 0;
    bool done = false;
    client::OwnedProperties request_props(cfg.publish_props);
    request_props.mutableView().response_topic = request_props.intern(cfg.response_topic);
    if (cfg.debug) {
        mqtt.onLog([](const std::string& line) {
            std::printf("%s\n", line.c_str());
            std::fflush(stdout);
        });
    }
    mqtt.onConnect([&](const client::ConnackInfo& c) {
        if (c.code != 0) {
            errPrintf(cfg, "Connection error: %s\n", connackText(cfg.version, c.code).c_str());
            exit_code = c.code;
            return;
        }
        protocol::TopicSubscription t;
        t.filter = cfg.response_topic;
        t.options.qos = static_cast<protocol::QoS>(cfg.qos);
        mqtt.subscribe(std::span(&t, 1), &cfg.subscribe_props.view());
    });
    mqtt.onSubscribed([&](const client::SubackInfo&) {
        std::string_view body = cfg.pub_mode == PubMode::kMessage ? std::string_view(cfg.message) : std::string_view();
        mqtt.publish(cfg.topic, body, static_cast<protocol::QoS>(cfg.qos), cfg.retain, &request_props.view());
    });
    mqtt.onMessage([&](const protocol::Publish& m) {
        if (done) return;
        done = true;
        std::string out, errors;
        if (cfg.have_format) {
            formatMessage(out, errors, cfg.format, m, MessageTime::now(), {cfg.eol, cfg.pretty});
        } else {
            formatPlain(out, m, cfg.verbose, cfg.eol);
        }
        std::fwrite(out.data(), 1, out.size(), stdout);
        std::fflush(stdout);
        mqtt.disconnect();
    });
    mqtt.onDisconnect([&](const client::DisconnectInfo& d) {
        if (!d.error.empty() && exit_code == 0) {
            errPrintf(cfg, "Error: %s\n", d.error.c_str());
            exit_code = 1;
        }
        loop.stop();
    });
    if (!mqtt.connect(error)) {
        errPrintf(cfg, "Error: %s\n", error.c_str());
        return 1;
    }
    client::Timer timeout(loop);
    if (cfg.timeout > 0) {
        timeout.start(std::chrono::seconds(cfg.timeout), [&] {
            errPrintf(cfg, "Timed out\n");
            exit_code = kExitTimedOut;
            mqtt.disconnect();
        });
    }
    SignalWatch signals(loop, [&] { mqtt.disconnect(); });
    loop.run();
    return exit_code;
}
