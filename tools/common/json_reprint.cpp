// cJSON-compatible JSON re-printing for mosquitto_sub's %J: parse the payload and print it minimised the way
// cJSON_PrintUnformatted does (numbers through %d / %1.15g / %1.17g, strings re-escaped).
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "tools/common/message_format.hpp"

namespace starling::tools {
namespace {

class Reprinter {
  public:
    Reprinter(std::string_view in, std::string& out) : in_(in), out_(out) {}

    bool run() {
        skipWs();
        if (!value(0)) return false;
        skipWs();
        return pos_ == in_.size();
    }

  private:
    void skipWs() {
        while (pos_ < in_.size() && static_cast<unsigned char>(in_[pos_]) <= 32)
            ++pos_;
    }
    bool literal(std::string_view word) {
        if (in_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        out_ += word;
        return true;
    }
    bool value(int depth) {
        if (depth > 1000 || pos_ >= in_.size()) return false;
        char c = in_[pos_];
        if (c == 'n') return literal("null");
        if (c == 't') return literal("true");
        if (c == 'f') return literal("false");
        if (c == '"') {
            std::string s;
            if (!string(s)) return false;
            appendJsonString(out_, s);
            return true;
        }
        if (c == '-' || (c >= '0' && c <= '9')) return number();
        if (c == '[') return array(depth);
        if (c == '{') return object(depth);
        return false;
    }
    bool number() {
        std::string buf;
        while (pos_ < in_.size() && std::string_view("0123456789+-eE.").find(in_[pos_]) != std::string_view::npos) {
            buf.push_back(in_[pos_++]);
        }
        char* end = nullptr;
        double d = std::strtod(buf.c_str(), &end);
        if (end == buf.c_str()) return false;
        pos_ -= buf.size() - static_cast<size_t>(end - buf.c_str());
        int vi = d >= INT_MAX ? INT_MAX : d <= static_cast<double>(INT_MIN) ? INT_MIN : static_cast<int>(d);
        char tmp[32];
        if (std::isnan(d) || std::isinf(d)) {
            out_ += "null";
        } else if (d == static_cast<double>(vi)) {
            std::snprintf(tmp, sizeof(tmp), "%d", vi);
            out_ += tmp;
        } else {
            std::snprintf(tmp, sizeof(tmp), "%1.15g", d);
            if (std::strtod(tmp, nullptr) != d) std::snprintf(tmp, sizeof(tmp), "%1.17g", d);
            out_ += tmp;
        }
        return true;
    }
    static void appendUtf8(std::string& s, unsigned long cp) {
        if (cp < 0x80) {
            s.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }
    bool hex4(unsigned long& v) {
        if (pos_ + 4 > in_.size()) return false;
        v = 0;
        for (int i = 0; i < 4; ++i) {
            char c = in_[pos_++];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= static_cast<unsigned long>(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= static_cast<unsigned long>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= static_cast<unsigned long>(c - 'A' + 10);
            else
                return false;
        }
        return true;
    }
    bool string(std::string& s) {
        ++pos_;  // opening quote
        while (pos_ < in_.size() && in_[pos_] != '"') {
            char c = in_[pos_++];
            if (c != '\\') {
                s.push_back(c);
                continue;
            }
            if (pos_ >= in_.size()) return false;
            char e = in_[pos_++];
            switch (e) {
                case 'b':
                    s.push_back('\b');
                    break;
                case 'f':
                    s.push_back('\f');
                    break;
                case 'n':
                    s.push_back('\n');
                    break;
                case 'r':
                    s.push_back('\r');
                    break;
                case 't':
                    s.push_back('\t');
                    break;
                case '"':
                case '\\':
                case '/':
                    s.push_back(e);
                    break;
                case 'u': {
                    unsigned long cp;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xDC00 && cp <= 0xDFFF) return false;
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        unsigned long lo;
                        if (pos_ + 2 > in_.size() || in_[pos_] != '\\' || in_[pos_ + 1] != 'u') return false;
                        pos_ += 2;
                        if (!hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
                        cp = 0x10000 + (((cp & 0x3FF) << 10) | (lo & 0x3FF));
                    }
                    appendUtf8(s, cp);
                    break;
                }
                default:
                    return false;
            }
        }
        if (pos_ >= in_.size()) return false;
        ++pos_;  // closing quote
        return true;
    }
    bool array(int depth) {
        ++pos_;
        out_.push_back('[');
        skipWs();
        if (pos_ < in_.size() && in_[pos_] == ']') {
            ++pos_;
            out_.push_back(']');
            return true;
        }
        for (;;) {
            skipWs();
            if (!value(depth + 1)) return false;
            skipWs();
            if (pos_ >= in_.size()) return false;
            if (in_[pos_] == ',') {
                ++pos_;
                out_.push_back(',');
                continue;
            }
            if (in_[pos_] != ']') return false;
            ++pos_;
            out_.push_back(']');
            return true;
        }
    }
    bool object(int depth) {
        ++pos_;
        out_.push_back('{');
        skipWs();
        if (pos_ < in_.size() && in_[pos_] == '}') {
            ++pos_;
            out_.push_back('}');
            return true;
        }
        for (;;) {
            skipWs();
            if (pos_ >= in_.size() || in_[pos_] != '"') return false;
            std::string key;
            if (!string(key)) return false;
            appendJsonString(out_, key);
            skipWs();
            if (pos_ >= in_.size() || in_[pos_] != ':') return false;
            ++pos_;
            out_.push_back(':');
            skipWs();
            if (!value(depth + 1)) return false;
            skipWs();
            if (pos_ >= in_.size()) return false;
            if (in_[pos_] == ',') {
                ++pos_;
                out_.push_back(',');
                continue;
            }
            if (in_[pos_] != '}') return false;
            ++pos_;
            out_.push_back('}');
            return true;
        }
    }

    std::string_view in_;
    std::string& out_;
    size_t pos_ = 0;
};

}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
    out.push_back('"');
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 32) {
                    char buf[8];
                    std::snprintf(buf, sizeof(buf), "\\u%04x", c);
                    out += buf;
                } else {
                    out.push_back(ch);
                }
        }
    }
    out.push_back('"');
}

bool reprintJson(std::string& out, std::string_view text) {
    std::string tmp;
    // cJSON reads a C string: a NUL ends the text early, which then fails the length check.
    if (text.find('\0') != std::string_view::npos) return false;
    Reprinter r(text, tmp);
    if (!r.run()) return false;
    out += tmp;
    return true;
}

}  // namespace starling::tools
