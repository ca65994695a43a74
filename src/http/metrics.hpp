#pragma once
// /metrics: the broker's numbers in Prometheus' text exposition format 0.0.4, every family with its HELP
// and TYPE lines and a `starling_` name. Pure; any thread.
#include <string>

#include "http/broker_status.hpp"

namespace starling::http {

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string renderMetrics(const BrokerStatus& status);

}  // namespace starling::http
