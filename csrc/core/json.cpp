#include "json.h"

#include <cmath>
#include <cstdio>
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
      std::string key = parseString();
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
          uint32_t cp = parseHex4();
          if (cp >= 0xD800 && cp < 0xDC00 && consumeLiteral("\\u")) {
            uint32_t lo = parseHex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          appendUtf8(out, cp);
          break;
        }
        default: fail("bad escape");
      }
    }
  }

  double parseNumber() {
    size_t start = pos_;
    while (pos_ < s_.size() && std::string("+-0123456789.eE").find(s_[pos_]) != std::string::npos) ++pos_;
    if (start == pos_) fail("unexpected character");
    try {
      return std::stod(s_.substr(start, pos_ - start));
    } catch (const std::exception&) {
      fail("bad number");
    }
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
  double n = asNumber();
  if (n != std::floor(n)) throw std::runtime_error("JSON number is not an integer");
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
