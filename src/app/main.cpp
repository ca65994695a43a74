// starling: the broker. `starling [-c FILE] [-p PORT] [-v] [--version]`.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "app/logging.hpp"
#include "auth/config_check.hpp"
#include "config/config.hpp"
#include "http/http_server.hpp"
#include "net/server.hpp"
#include "util/version.hpp"

namespace {

void usage(FILE* out) {
    std::fprintf(out,
                 "starling version %s\n\n"
                 "starling is an MQTT v5.0/v3.1.1/v3.1 broker.\n\n"
                 "Usage: starling [-c config_file] [-p port] [-v] [--version] [--check-config]\n\n"
                 " -c : specify the broker config file.\n"
                 " --check-config : check the config (and the files it names) for unsafe settings and exit;\n"
                 "                  the exit status is 1 when an error is found.\n"
                 " -p : start the broker listening on the specified port (local only without a config).\n"
                 " -v : verbose mode - enable all logging types.\n"
                 " --version : print the version and exit.\n"
                 " -h : display this help.\n",
                 starling::kVersion);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace starling;
    std::string config_path;
    std::vector<int> ports;
    bool verbose = false;
    bool check_only = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if ((a == "-c" || a == "--config-file") && i + 1 < argc) {
            config_path = argv[++i];
        } else if ((a == "-p" || a == "--port") && i + 1 < argc) {
            char* end = nullptr;
            long p = std::strtol(argv[++i], &end, 10);
            if (!end || *end || p < 0 || p > 65535) {
                std::fprintf(stderr, "Error: Invalid port specified (%s).\n", argv[i]);
                return 1;
            }
            ports.push_back(static_cast<int>(p));
        } else if (a == "--check-config") {
            check_only = true;
        } else if (a == "-v" || a == "--verbose") {
            verbose = true;
        } else if (a == "--version") {
            std::printf("starling version %s\n", kVersion);
            return 0;
        } else if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        } else {
            std::fprintf(stderr, "Error: Unknown option '%s'.\n", argv[i]);
            usage(stderr);
            return 1;
        }
    }

    config::Config cfg;
    try {
        if (!config_path.empty()) cfg = config::loadConfig(config_path);
    } catch (const config::ConfigError& e) {
        std::fprintf(stderr, "Error: %s\n", e.what());
        return 1;
    }
    for (int p : ports) {
        // Mosquitto's -p: listen on that port; without a config file, on the loopback addresses only.
        if (config_path.empty()) {
            for (const char* addr : {"127.0.0.1", "::1"}) {
                config::Listener l;
                l.port = static_cast<uint16_t>(p);
                l.address = addr;
                cfg.listeners.push_back(l);
            }
            if (!cfg.allow_anonymous) cfg.allow_anonymous = true;  // local-only mode stays open, as Mosquitto's
        } else {
            config::Listener l;
            l.port = static_cast<uint16_t>(p);
            cfg.listeners.push_back(l);
        }
    }

    auto findings = auth::checkConfig(cfg);
    if (check_only) {
        for (const auto& f : findings)
            std::printf("%s\n", f.format().c_str());
        std::printf("%s: %zu finding(s), %s.\n", config_path.empty() ? "default config" : config_path.c_str(),
                    findings.size(), auth::hasErrors(findings) ? "errors found" : "no errors");
        return auth::hasErrors(findings) ? 1 : 0;
    }

    // Signals are taken by this thread only (sigwait below); workers inherit the blocked mask.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    signal(SIGPIPE, SIG_IGN);

    try {
        app::configureLogging(cfg, verbose);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "Error: cannot open log destination: %s\n", e.what());
        return 1;
    }
    spdlog::info("starling version {} starting", kVersion);
    for (const auto& w : cfg.warnings)
        spdlog::warn("{}", w);
    // The config checker's findings, as warnings: the broker still starts (`--check-config` fails on errors).
    for (const auto& f : findings)
        spdlog::warn("Config check: {}", f.format());
    if (config_path.empty()) {
        spdlog::info("Using default config: local only mode (127.0.0.1 and ::1), anonymous access allowed.");
    } else {
        spdlog::info("Config loaded from {}.", config_path);
    }

    net::Server server(cfg);
    // Metrics, admin API and dashboard: started once the broker is (the store open), stopped before it.
    std::unique_ptr<http::HttpServer> http_server;
    try {
        server.start();
        if (cfg.http_listener) {
            http_server = std::make_unique<http::HttpServer>(server.broker(), cfg);
            http_server->start();
        }
    } catch (const std::exception& e) {
        spdlog::error("Error: {}", e.what());
        return 1;
    }

    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0) continue;
        if (sig == SIGHUP) {
            if (config_path.empty()) continue;
            try {
                auto fresh = config::loadConfig(config_path);
                if (http_server) http_server->reload(fresh);  // first: an unreadable token file changes nothing
                server.reload(fresh);
                app::configureLogging(fresh, verbose);
                spdlog::info(
                    "Reloaded configuration from {} (log settings, password file, ACL file, JWT keys, "
                    "TLS certificates, HTTP token).",
                    config_path);
            } catch (const std::exception& e) {
                spdlog::error("Reload failed, keeping the running configuration: {}", e.what());
            }
            continue;
        }
        spdlog::info("starling version {} terminating ({}).", kVersion, sig == SIGINT ? "SIGINT" : "SIGTERM");
        break;
    }
    if (http_server) http_server->stop();
    server.stop();
    server.wait();
    spdlog::default_logger()->flush();
    return 0;
}
