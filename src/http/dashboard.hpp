#pragma once
// The dashboard: one self-contained HTML page (inline CSS and JavaScript, nothing fetched from elsewhere)
// that polls /api/v1/stats and browses /api/v1/retained. Built into the binary from dashboard.html.
#include <string_view>

namespace starling::http {

std::string_view dashboardPage();

}  // namespace starling::http
