#include "app/logging.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>

namespace starling::app {

void configureLogging(const config::Config& cfg, bool verbose) {
    std::vector<spdlog::sink_ptr> sinks;
    std::vector<config::LogTarget> dests = cfg.log_dest;
    if (dests.empty()) dests.push_back(config::LogTarget{config::LogDest::kStderr, ""});
    for (const auto& d : dests) {
        switch (d.dest) {
            case config::LogDest::kStdout:
                sinks.push_back(std::make_shared<spdlog::sinks::stdout_sink_mt>());
                break;
            case config::LogDest::kStderr:
                sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
                break;
            case config::LogDest::kFile:
                sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(d.path, false));
                break;
            case config::LogDest::kSyslog:
                sinks.push_back(std::make_shared<spdlog::sinks::syslog_sink_mt>("starling", 0, LOG_DAEMON, true));
                break;
            case config::LogDest::kTopic:  // $SYS/broker/log/#: a later issue
            case config::LogDest::kNone:
                break;
        }
    }
    auto logger = std::make_shared<spdlog::logger>("starling", sinks.begin(), sinks.end());

    // The lowest level any enabled log type needs.
    auto level = spdlog::level::info;
    const auto& types = cfg.log_type;
    if (verbose || types.count("all") || types.count("debug") || types.count("subscribe") ||
        types.count("unsubscribe")) {
        level = spdlog::level::debug;
    } else if (!types.empty()) {
        if (types.count("information") || types.count("notice")) {
            level = spdlog::level::info;
        } else if (types.count("warning")) {
            level = spdlog::level::warn;
        } else if (types.count("error")) {
            level = spdlog::level::err;
        } else {
            level = spdlog::level::off;  // "none"
        }
    }
    logger->set_level(level);
    logger->flush_on(spdlog::level::debug);
    std::string pattern = "%v";
    if (cfg.log_timestamp) pattern = (cfg.log_timestamp_format.empty() ? "%E" : cfg.log_timestamp_format) + ": %v";
    logger->set_pattern(pattern);
    spdlog::set_default_logger(logger);
}

}  // namespace starling::app
