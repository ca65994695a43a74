// starling_sub: subscribes and prints messages; mosquitto_sub's flags, output and exit codes.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "client/client.hpp"
#include "protocol/topic.hpp"
#include "tools/common/client_config.hpp"
#include "tools/common/message_format.hpp"
#include "tools/common/tool_support.hpp"

using namespace starling;
using namespace starling::tools;

namespace {

void printUsage() {
    std::printf(
        "starling_sub is a simple mqtt client that will subscribe to a set of topics and print all messages it "
        "receives.\n"
        "starling_sub version %s.\n\n"
        "Usage: starling_sub {[-h host] [-p port] [-u username] [-P password] -t topic | -L URL [-t topic]}\n"
        "                     [-c] [-k keepalive] [-q qos] [-x session-expiry-interval]\n"
        "                     [-C msg_count] [-E] [-R] [--retained-only] [--remove-retained] [-T filter_out] [-U "
        "topic ...]\n"
        "                     [-F format]\n"
        "                     [-W timeout_secs]\n"
        "                     [-i id] [-I id_prefix]\n"
        "                     [-d] [-N] [--quiet] [-v]\n"
        "                     [--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]\n"
        "                     [{--cafile file | --capath dir} [--cert file] [--key file] [--insecure]\n"
        "                       [--tls-version version]]\n"
        "                     [-D command identifier value]\n"
        "       starling_sub --help\n\n"
        "Flags and output formats are those of mosquitto_sub; see `man mosquitto_sub`.\n\n",
        starlingVersion().c_str());
}

struct SubApp {
    ClientConfig cfg;
    client::EventLoop loop;
    std::unique_ptr<client::Client> mqtt;
    int exit_code = 0;
    bool process_messages = true;
    int received = 0;
    uint16_t last_mid = 0;  // --remove-retained publish we wait for before leaving
    bool connected_once = false;
    std::string out, errors;

    void stopAfterPending() {
        process_messages = false;
        if (last_mid == 0) mqtt->disconnect();
    }

    void onMessage(const protocol::Publish& m) {
        if (!process_messages) return;
        if (cfg.retained_only && !m.retain) return stopAfterPending();
        if (m.retain && cfg.no_retain) return;
        for (const auto& f : cfg.filter_outs) {
            if (protocol::topicMatches(f, m.topic)) return;
        }
        if (cfg.remove_retained && m.retain) {
            last_mid = mqtt->publish(m.topic, "", protocol::QoS::kAtLeastOnce, true);
        }
        if (cfg.random_filter >= 10000 || (std::rand() % 10000) < cfg.random_filter) {
            out.clear();
            errors.clear();
            if (cfg.have_format) {
                formatMessage(out, errors, cfg.format, m, MessageTime::now(), {cfg.eol, cfg.pretty});
            } else {
                formatPlain(out, m, cfg.verbose, cfg.eol);
            }
            if (!errors.empty()) errPrintf(cfg, "%s", errors.c_str());
            std::fwrite(out.data(), 1, out.size(), stdout);
            std::fflush(stdout);
        }
        if (cfg.msg_count > 0 && ++received == cfg.msg_count) stopAfterPending();
    }

    int run() {
        auto opts = toClientOptions(cfg, getpid());
        // libmosquitto's loop_forever reconnects after a lost connection (not after a failed first attempt).
        opts.reconnect = {true, std::chrono::milliseconds(1000), std::chrono::milliseconds(1000)};
        mqtt = std::make_unique<client::Client>(loop, std::move(opts));
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
            connected_once = true;
            std::vector<protocol::TopicSubscription> subs;
            for (const auto& t : cfg.topics) {
                protocol::TopicSubscription s;
                s.filter = t;
                s.options.qos = static_cast<protocol::QoS>(cfg.qos);
                s.options.retain_as_published = cfg.retain_as_published;
                s.options.retain_handling = cfg.no_retain ? 2 : 0;
                subs.push_back(s);
            }
            if (!subs.empty()) mqtt->subscribe(subs, &cfg.subscribe_props.view());
            for (const auto& u : cfg.unsub_topics) {
                std::string_view f = u;
                mqtt->unsubscribe(std::span(&f, 1), &cfg.unsubscribe_props.view());
            }
        });
        mqtt->onSubscribed([this](const client::SubackInfo& s) {
            if (cfg.debug && !cfg.quiet) {
                std::printf("Subscribed (mid: %d):", s.packet_id);
                for (size_t i = 0; i < s.codes.size(); ++i)
                    std::printf(i ? ", %d" : " %d", s.codes[i]);
                std::printf("\n");
                std::fflush(stdout);
            }
            if (cfg.exit_after_sub) mqtt->disconnect();
        });
        mqtt->onMessage([this](const protocol::Publish& m) { onMessage(m); });
        mqtt->onPublished([this](uint16_t mid, uint8_t) {
            if (!process_messages && (mid == last_mid || last_mid == 0)) mqtt->disconnect();
        });
        mqtt->onDisconnect([this](const client::DisconnectInfo& d) {
            if (d.will_reconnect && process_messages && connected_once) return;
            if (!d.error.empty() && exit_code == 0 && !d.connected_before) {
                errPrintf(cfg, "Error: %s\n", d.error.c_str());
                exit_code = 1;
            }
            loop.stop();
        });
        std::string error;
        if (!mqtt->connect(error)) {
            errPrintf(cfg, "Error: %s\n", error.c_str());
            return 1;
        }
        client::Timer timeout(loop);
        if (cfg.timeout > 0) {
            timeout.start(std::chrono::seconds(cfg.timeout), [this] {
                errPrintf(cfg, "Timed out\n");
                exit_code = kExitTimedOut;
                process_messages = false;
                mqtt->disconnect(cfg.version == protocol::ProtocolVersion::kV5 ? 0x04 : 0);
            });
        }
        SignalWatch signals(loop, [this] {
            process_messages = false;
            mqtt->disconnect(cfg.version == protocol::ProtocolVersion::kV5 ? 0x04 : 0);
        });
        loop.run();
        return exit_code;
    }
};

}  // namespace

int main(int argc, char* argv[]) {
    SubApp app;
    std::string error;
    switch (parseClientConfig(app.cfg, ToolKind::kSub, argc, argv, error)) {
        case ParseStatus::kHelp:
            printUsage();
            return 1;
        case ParseStatus::kVersion:
            std::printf("starling_sub version %s.\n", starlingVersion().c_str());
            return 0;
        case ParseStatus::kError:
            printUsageHint(error, "starling_sub");
            return 1;
        case ParseStatus::kOk:
            break;
    }
    if (app.cfg.no_retain && app.cfg.retained_only) {
        std::fprintf(stderr, "\nError: Combining '-R' and '--retained-only' makes no sense.\n");
        return 1;
    }
    return app.run();
}
