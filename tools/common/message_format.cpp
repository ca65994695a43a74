#include "tools/common/message_format.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace starling::tools {
namespace {

using protocol::Publish;

void appendf(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string& out, const char* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = std::vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0) out.append(buf, std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
}

struct Spec {
    char align = 0;
    char pad = ' ';
    int width = 0;
    int precision = -1;
};

// write_payload() of mosquitto_sub: `hex` 0 raw, 1 lower-case hex, 2 upper-case hex.
void writePayload(std::string& out, std::string_view payload, int hex, const Spec& s) {
    int len = static_cast<int>(payload.size());
    int padlen;
    if (s.width > 0) {
        if (len > s.width) len = s.width;
        if (hex > 0) {
            len /= 2;
            padlen = s.width - len * 2;
        } else {
            padlen = s.width - len;
        }
    } else {
        padlen = s.width - len;
    }
    if (s.align != '-') {
        for (int i = 0; i < padlen; ++i)
            out.push_back(s.pad);
    }
    if (hex == 0) {
        out.append(payload.data(), static_cast<size_t>(len));
    } else {
        for (int i = 0; i < len; ++i)
            appendf(out, hex == 1 ? "%02x" : "%02X", static_cast<uint8_t>(payload[i]));
    }
    // printf("%*s", padlen, "") pads to |padlen| (a negative width left-justifies).
    if (s.align == '-') out.append(static_cast<size_t>(padlen < 0 ? -padlen : padlen), ' ');
}

void printBlank(std::string& out, char pad, int width) {
    out.append(static_cast<size_t>(width), pad);
}

void printInt(std::string& out, long long value, const Spec& s) {
    if (s.width == 0) {
        appendf(out, "%lld", value);
    } else if (s.align == '-') {
        appendf(out, "%-*lld", s.width, value);
    } else if (s.pad == '0') {
        appendf(out, "%0*lld", s.width, value);
    } else {
        appendf(out, "%*lld", s.width, value);
    }
}

void printStr(std::string& out, std::string_view v, const Spec& s) {
    std::string z(v);  // printf stops at a NUL like the C string mosquitto prints
    const char* c = z.c_str();
    if (s.width == 0 && s.precision == -1) {
        out += c;
    } else if (s.precision == -1) {
        appendf(out, s.align == '-' ? "%-*s" : "%*s", s.width, c);
    } else if (s.width == 0) {
        appendf(out, "%.*s", s.precision, c);
    } else {
        appendf(out, s.align == '-' ? "%-*.*s" : "%*.*s", s.width, s.precision, c);
    }
}

// Characters of the current time for strftime-style tokens.
std::string strftimeOf(const char* fmt, const MessageTime& t) {
    struct tm tm;
    localtime_r(&t.seconds, &tm);
    char buf[100];
    size_t n = std::strftime(buf, sizeof(buf), fmt, &tm);
    return std::string(buf, n);
}

// json_print() of mosquitto_sub built with cJSON (Debian's 2.0.11).
bool jsonPrint(std::string& out, const Publish& m, const MessageTime& t, bool escaped) {
    std::string payload_json;
    if (!escaped) {
        if (m.payload.empty()) {
            payload_json = "null";
        } else if (!reprintJson(payload_json, m.payload)) {
            return false;
        }
    }
    std::string tst = strftimeOf("%Y-%m-%dT%H:%M:%S.000000Z%z", t);
    if (tst.size() >= 27) {
        char us[8];
        std::snprintf(us, sizeof(us), "%06d", static_cast<int>(t.nanoseconds / 1000));
        tst.replace(20, 6, us);
        tst[26] = 'Z';
    }
    out += "{\"tst\":";
    appendJsonString(out, tst);
    out += ",\"topic\":";
    appendJsonString(out, m.topic);
    appendf(out, ",\"qos\":%d,\"retain\":%d,\"payloadlen\":%zu", static_cast<int>(m.qos), m.retain ? 1 : 0,
            m.payload.size());
    if (m.qos != protocol::QoS::kAtMostOnce) appendf(out, ",\"mid\":%d", m.packet_id);
    const auto& p = m.properties;
    if (!p.empty()) {
        // libmosquitto lists properties in packet order; ours come in identifier order (see the report).
        std::string props;
        auto sep = [&props] {
            if (!props.empty()) props += ",";
        };
        if (p.payload_format_indicator)
            sep(), appendf(props, "\"payload-format-indicator\":%d", *p.payload_format_indicator);
        if (p.message_expiry_interval)
            sep(), appendf(props, "\"message-expiry-interval\":%u", *p.message_expiry_interval);
        if (p.content_type) sep(), props += "\"content-type\":", appendJsonString(props, *p.content_type);
        if (p.response_topic) sep(), props += "\"response-topic\":", appendJsonString(props, *p.response_topic);
        if (p.correlation_data) sep(), props += "\"correlation-data\":", appendJsonString(props, *p.correlation_data);
        for (uint32_t id : p.subscription_identifiers)
            sep(), appendf(props, "\"subscription-identifier\":%u", id);
        if (p.topic_alias) sep(), appendf(props, "\"topic-alias\":%d", *p.topic_alias);
        if (!p.user_properties.empty()) {
            sep();
            props += "\"user-properties\":{";
            bool first = true;
            for (const auto& up : p.user_properties) {
                if (!first) props += ",";
                first = false;
                appendJsonString(props, up.name);
                props += ":";
                appendJsonString(props, up.value);
            }
            props += "}";
        }
        out += ",\"properties\":{" + props + "}";
    }
    out += ",\"payload\":";
    if (escaped) {
        if (m.payload.empty()) {
            out += "null";
        } else {
            appendJsonString(out, m.payload.substr(0, m.payload.find('\0')));
        }
    } else {
        out += payload_json;
    }
    out += "}";
    return true;
}

void printPercent(std::string& out, std::string& errors, char token, const Publish& m, const MessageTime& t,
                  const Spec& s) {
    const auto& p = m.properties;
    switch (token) {
        case '%':
            out.push_back('%');
            break;
        case 'A':
            if (p.topic_alias)
                printInt(out, *p.topic_alias, s);
            else
                printBlank(out, s.pad, s.width);
            break;
        case 'C':
            if (p.content_type)
                printStr(out, *p.content_type, s);
            else
                printBlank(out, ' ', s.width);
            break;
        case 'D':
            if (p.correlation_data) out += *p.correlation_data;
            break;
        case 'E':
            if (p.message_expiry_interval)
                printInt(out, static_cast<int>(*p.message_expiry_interval), s);
            else
                printBlank(out, s.pad, s.width);
            break;
        case 'F':
            if (p.payload_format_indicator)
                printInt(out, *p.payload_format_indicator, s);
            else
                printBlank(out, s.pad, s.width);
            break;
        case 'I':
            printStr(out, strftimeOf("%FT%T%z", t), s);
            break;
        case 'j':
            jsonPrint(out, m, t, true);
            break;
        case 'J':
            if (!jsonPrint(out, m, t, false)) {
                errors += "Error: Message payload is not valid JSON on topic " + std::string(m.topic) + ".\n";
            }
            break;
        case 'l':
            printInt(out, static_cast<long long>(m.payload.size()), s);
            break;
        case 'm':
            printInt(out, m.packet_id, s);
            break;
        case 'P': {
            bool first = true;
            for (const auto& up : p.user_properties) {
                if (!first) out.push_back(' ');
                first = false;
                out += std::string(up.name).c_str();
                out.push_back(':');
                out += std::string(up.value).c_str();
            }
            break;
        }
        case 'p':
            writePayload(out, m.payload, 0, s);
            break;
        case 'q':
            out.push_back(static_cast<char>('0' + static_cast<int>(m.qos)));
            break;
        case 'R':
            if (p.response_topic) printStr(out, *p.response_topic, s);
            break;
        case 'r':
            out.push_back(m.retain ? '1' : '0');
            break;
        case 'S':
            if (!p.subscription_identifiers.empty())
                printInt(out, static_cast<int>(p.subscription_identifiers[0]), s);
            else
                printBlank(out, s.pad, s.width);
            break;
        case 't':
            printStr(out, m.topic, s);
            break;
        case 'U':
            out += strftimeOf("%s", t);
            appendf(out, ".%09ld", t.nanoseconds);
            break;
        case 'x':
            writePayload(out, m.payload, 1, s);
            break;
        case 'X':
            writePayload(out, m.payload, 2, s);
            break;
        default:
            break;
    }
}

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace

MessageTime MessageTime::now() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return {ts.tv_sec, ts.tv_nsec};
}

bool checkFormat(std::string_view f, std::string& error) {
    const size_t len = f.size();
    const std::string_view valid = "%ACDEFIlmPpqRSrtjJUxX";
    for (size_t i = 0; i < len; ++i) {
        if (f[i] == '%') {
            if (i == len - 1) return error = "Error: Incomplete format specifier.", false;
            if (f[i + 1] == '0' || f[i + 1] == '-') {
                ++i;
                if (i == len - 1) return error = "Error: Incomplete format specifier.", false;
            }
            while (i + 1 < len && isDigit(f[i + 1])) {
                ++i;
                if (i == len - 1) return error = "Error: Incomplete format specifier.", false;
            }
            if (i + 1 < len && f[i + 1] == '.') {
                ++i;
                if (i == len - 1) return error = "Error: Incomplete format specifier.", false;
                while (i + 1 < len && isDigit(f[i + 1])) {
                    ++i;
                    if (i == len - 1) return error = "Error: Incomplete format specifier.", false;
                }
            }
            if (valid.find(f[i + 1]) == std::string_view::npos) {
                return error = std::string("Error: Invalid format specifier '") + f[i + 1] + "'.", false;
            }
            ++i;
        } else if (f[i] == '@') {
            if (i == len - 1) return error = "Error: Incomplete format specifier.", false;
            ++i;
        } else if (f[i] == '\\') {
            if (i == len - 1) return error = "Error: Incomplete escape specifier.", false;
            if (std::string_view("\\0aenrtv").find(f[i + 1]) == std::string_view::npos) {
                return error = std::string("Error: Invalid escape specifier '") + f[i + 1] + "'.", false;
            }
            ++i;
        }
    }
    return true;
}

void formatMessage(std::string& out, std::string& errors, std::string_view f, const Publish& m, const MessageTime& t,
                   const FormatOptions& opts) {
    const size_t len = f.size();
    for (size_t i = 0; i < len; ++i) {
        if (f[i] == '%') {
            Spec s;
            if (i < len - 1) {
                ++i;
                if (f[i] == '-') {
                    s.align = '-';
                    if (i < len - 1) ++i;
                }
                if (f[i] == '0') {
                    s.pad = '0';
                    if (i < len - 1) ++i;
                }
                while (i < len - 1 && isDigit(f[i])) {
                    s.width = s.width * 10 + (f[i] - '0');
                    ++i;
                }
                if (f[i] == '.' && i < len - 1) {
                    ++i;
                    s.precision = 0;
                    while (i < len - 1 && isDigit(f[i])) {
                        s.precision = s.precision * 10 + (f[i] - '0');
                        ++i;
                    }
                }
                if (i < len) printPercent(out, errors, f[i], m, t, s);
            }
        } else if (f[i] == '@') {
            if (i < len - 1) {
                ++i;
                if (f[i] == '@') {
                    out.push_back('@');
                } else if (f[i] == 'N') {
                    appendf(out, "%09ld", t.nanoseconds);
                } else {
                    char strf[3] = {'%', f[i], 0};
                    out += strftimeOf(strf, t);
                }
            }
        } else if (f[i] == '\\') {
            if (i < len - 1) {
                ++i;
                switch (f[i]) {
                    case '\\':
                        out.push_back('\\');
                        break;
                    case '0':
                        out.push_back('\0');
                        break;
                    case 'a':
                        out.push_back('\a');
                        break;
                    case 'e':
                        out.push_back('\033');
                        break;
                    case 'n':
                        out.push_back('\n');
                        break;
                    case 'r':
                        out.push_back('\r');
                        break;
                    case 't':
                        out.push_back('\t');
                        break;
                    case 'v':
                        out.push_back('\v');
                        break;
                    default:
                        break;
                }
            }
        } else {
            out.push_back(f[i]);
        }
    }
    if (opts.eol) out.push_back('\n');
}

void formatPlain(std::string& out, const Publish& m, bool verbose, bool eol) {
    if (verbose) {
        if (!m.payload.empty()) {
            out += std::string(m.topic).c_str();
            out.push_back(' ');
            out += m.payload;
            if (eol) out.push_back('\n');
        } else if (eol) {
            out += std::string(m.topic).c_str();
            out += " (null)\n";
        }
    } else if (!m.payload.empty()) {
        out += m.payload;
        if (eol) out.push_back('\n');
    }
}

}  // namespace starling::tools
