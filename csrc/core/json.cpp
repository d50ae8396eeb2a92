#include "json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace q3 {
namespace {

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  Json parseDocument() {
    Json v = parseValue(0);
    skipSpace();
    if (pos_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  const std::string& s_;
  size_t pos_ = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("invalid JSON at byte " + std::to_string(pos_) + ": " + what);
  }
  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }
  char peek() {
    skipSpace();
    if (pos_ >= s_.size()) fail("unexpected end");
    return s_[pos_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool consumeLiteral(const char* lit) {
    size_t n = std::char_traits<char>::length(lit);
    if (s_.compare(pos_, n, lit) == 0) {
      pos_ += n;
      return true;
    }
    return false;
  }

  Json parseValue(int depth) {
    if (depth > 64) fail("nesting too deep");
    char c = peek();
    if (c == '{') return parseObject(depth);
    if (c == '[') return parseArray(depth);
    if (c == '"') return Json(parseString());
    if (consumeLiteral("true")) return Json(true);
    if (consumeLiteral("false")) return Json(false);
    if (consumeLiteral("null")) return Json();
    return Json(parseNumber());
  }

  Json parseObject(int depth) {
    Json obj = Json::object();
    expect('{');
    if (peek() == '}') {
      ++pos_;
      return obj;
    }
    while (true) {
      if (peek() != '"') fail("expected a string key");
      const size_t keyAt = pos_;
      std::string key = parseString();
      if (obj.has(key)) {
        pos_ = keyAt;
        fail("duplicate key \"" + key.substr(0, 80) + "\"");
      }
      expect(':');
      obj[key] = parseValue(depth + 1);
      char c = peek();
      ++pos_;
      if (c == '}') return obj;
      if (c != ',') fail("expected ',' or '}'");
    }
  }

  Json parseArray(int depth) {
    Json arr = Json::array();
    expect('[');
    if (peek() == ']') {
      ++pos_;
      return arr;
    }
    while (true) {
      arr.push(parseValue(depth + 1));
      char c = peek();
      ++pos_;
      if (c == ']') return arr;
      if (c != ',') fail("expected ',' or ']'");
    }
  }

  static void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  uint32_t parseHex4() {
    if (pos_ + 4 > s_.size()) fail("short \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else fail("bad \\u escape");
    }
    return v;
  }

  std::string parseString() {
    expect('"');
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string");
      char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string (it must be escaped)");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          // UTF-16 escapes: a high surrogate must be followed by a low one (\ud83d\ude00); anything else has no
          // code point (the old parser turned \ud800\u0041 into a garbage 4-byte sequence).
          uint32_t cp = parseHex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate in a \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!consumeLiteral("\\u")) fail("high surrogate in a \\u escape without a low surrogate after it");
            const uint32_t lo = parseHex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("high surrogate followed by a \\u escape that is not a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          appendUtf8(out, cp);
          break;
        }
        default: fail("bad escape");
      }
    }
  }

  // RFC 8259's grammar exactly: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and nothing number-like after it.
  // A lenient scan handed to stod read `1.2.3` as 1.2 and `01` as 1: a corrupt header then loaded as something else.
  double parseNumber() {
    const size_t start = pos_;
    const auto digit = [&](size_t i) { return i < s_.size() && s_[i] >= '0' && s_[i] <= '9'; };
    size_t i = pos_;
    if (i < s_.size() && s_[i] == '-') ++i;
    if (!digit(i)) {
      if (i == pos_) fail("unexpected character '" + printable(s_[pos_]) + "'");
      failNumber(start, i);
    }
    if (s_[i] == '0') {
      ++i;
    } else {
      while (digit(i)) ++i;
    }
    if (i < s_.size() && s_[i] == '.') {
      if (!digit(++i)) failNumber(start, i);
      while (digit(i)) ++i;
    }
    if (i < s_.size() && (s_[i] == 'e' || s_[i] == 'E')) {
      ++i;
      if (i < s_.size() && (s_[i] == '+' || s_[i] == '-')) ++i;
      if (!digit(i)) failNumber(start, i);
      while (digit(i)) ++i;
    }
    if (i < s_.size() && std::strchr("+-.eE0123456789", s_[i]) != nullptr && s_[i] != '\0') failNumber(start, i);
    double value = 0;
    // from_chars: locale-independent (strtod reads "1,5" under a German LC_NUMERIC) and reports range errors.
    const auto result = std::from_chars(s_.data() + start, s_.data() + i, value);
    if (result.ec != std::errc() || result.ptr != s_.data() + i || !std::isfinite(value)) {
      pos_ = start;
      fail("number " + s_.substr(start, std::min<size_t>(i - start, 40)) + " is out of range");
    }
    pos_ = i;
    return value;
  }

  [[noreturn]] void failNumber(size_t start, size_t at) {
    size_t end = at;
    while (end < s_.size() && end - start < 40 && std::strchr("+-.eE0123456789", s_[end]) != nullptr && s_[end] != '\0')
      ++end;
    pos_ = start;
    fail("malformed number '" + s_.substr(start, end - start) + "'");
  }

  static std::string printable(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string(1, c);
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", u);
    return buf;
  }
};

void dumpString(std::ostringstream& os, const std::string& s) {
  os << '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': os << "\\\""; break;
      case '\\': os << "\\\\"; break;
      case '\n': os << "\\n"; break;
      case '\r': os << "\\r"; break;
      case '\t': os << "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          os << buf;
        } else {
          os << c;
        }
    }
  }
  os << '"';
}

void dumpValue(std::ostringstream& os, const Json& v, int indent, int level) {
  auto newline = [&](int lvl) {
    if (indent < 0) return;
    os << '\n' << std::string(static_cast<size_t>(indent * lvl), ' ');
  };
  switch (v.type()) {
    case Json::Type::Null: os << "null"; break;
    case Json::Type::Bool: os << (v.asBool() ? "true" : "false"); break;
    case Json::Type::Number: {
      double n = v.asNumber();
      if (std::isfinite(n) && n == std::floor(n) && std::fabs(n) < 9e15) {
        os << static_cast<int64_t>(n);
      } else if (!std::isfinite(n)) {
        os << "null";
      } else {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", n);
        os << buf;
      }
      break;
    }
    case Json::Type::String: dumpString(os, v.asString()); break;
    case Json::Type::Array: {
      os << '[';
      bool first = true;
      for (const auto& item : v.items()) {
        if (!first) os << ',';
        first = false;
        newline(level + 1);
        dumpValue(os, item, indent, level + 1);
      }
      if (!v.items().empty()) newline(level);
      os << ']';
      break;
    }
    case Json::Type::Object: {
      os << '{';
      bool first = true;
      for (const auto& kv : v.members()) {
        if (!first) os << ',';
        first = false;
        newline(level + 1);
        dumpString(os, kv.first);
        os << (indent < 0 ? ":" : ": ");
        dumpValue(os, kv.second, indent, level + 1);
      }
      if (!v.members().empty()) newline(level);
      os << '}';
      break;
    }
  }
}

}  // namespace

Json Json::parse(const std::string& text) { return Parser(text).parseDocument(); }

std::string Json::dump(int indent) const {
  std::ostringstream os;
  dumpValue(os, *this, indent, 0);
  return os.str();
}

bool Json::asBool() const {
  if (type_ != Type::Bool) throw std::runtime_error("JSON value is not a boolean");
  return bool_;
}
double Json::asNumber() const {
  if (type_ != Type::Number) throw std::runtime_error("JSON value is not a number");
  return number_;
}
int64_t Json::asInt() const {
  const double n = asNumber();
  if (n != std::floor(n)) throw std::runtime_error("JSON number is not an integer");
  // Beyond 2^53 a double no longer holds every integer, and casting one beyond int64 is undefined behaviour.
  constexpr double kExact = 9007199254740992.0;  // 2^53
  if (std::fabs(n) > kExact) throw std::runtime_error("JSON integer is too large (more than 2^53)");
  return static_cast<int64_t>(n);
}
const std::string& Json::asString() const {
  if (type_ != Type::String) throw std::runtime_error("JSON value is not a string");
  return string_;
}
const std::vector<Json>& Json::items() const {
  if (type_ != Type::Array) throw std::runtime_error("JSON value is not an array");
  return array_;
}
const std::map<std::string, Json>& Json::members() const {
  if (type_ != Type::Object) throw std::runtime_error("JSON value is not an object");
  return object_;
}
bool Json::has(const std::string& key) const { return type_ == Type::Object && object_.count(key) > 0; }
const Json& Json::at(const std::string& key) const {
  auto it = members().find(key);
  if (it == object_.end()) throw std::runtime_error("JSON object has no key '" + key + "'");
  return it->second;
}
Json& Json::operator[](const std::string& key) {
  if (type_ == Type::Null) type_ = Type::Object;
  if (type_ != Type::Object) throw std::runtime_error("JSON value is not an object");
  return object_[key];
}
void Json::push(Json v) {
  if (type_ == Type::Null) type_ = Type::Array;
  if (type_ != Type::Array) throw std::runtime_error("JSON value is not an array");
  array_.push_back(std::move(v));
}
size_t Json::size() const {
  if (type_ == Type::Array) return array_.size();
  if (type_ == Type::Object) return object_.size();
  return 0;
}

}  // namespace q3
