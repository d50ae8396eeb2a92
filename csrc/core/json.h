// Minimal JSON value, parser and writer: enough for safetensors headers (the only JSON the core reads or writes;
// adapter and run metadata are written in TypeScript).
// Kept dependency-free so the core needs nothing beyond C++17 and libtorch.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace q3 {

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::Bool), bool_(b) {}
  Json(double n) : type_(Type::Number), number_(n) {}
  Json(int n) : type_(Type::Number), number_(n) {}
  Json(int64_t n) : type_(Type::Number), number_(static_cast<double>(n)) {}
  Json(const char* s) : type_(Type::String), string_(s) {}
  Json(std::string s) : type_(Type::String), string_(std::move(s)) {}

  static Json array() {
    Json j;
    j.type_ = Type::Array;
    return j;
  }
  static Json object() {
    Json j;
    j.type_ = Type::Object;
    return j;
  }

  // Throws std::runtime_error with the byte offset of the problem.
  static Json parse(const std::string& text);
  std::string dump(int indent = -1) const;

  Type type() const { return type_; }
  bool isObject() const { return type_ == Type::Object; }
  bool isArray() const { return type_ == Type::Array; }
  bool isString() const { return type_ == Type::String; }
  bool isNumber() const { return type_ == Type::Number; }

  bool asBool() const;
  double asNumber() const;
  int64_t asInt() const;
  const std::string& asString() const;
  const std::vector<Json>& items() const;
  const std::map<std::string, Json>& members() const;

  bool has(const std::string& key) const;
  const Json& at(const std::string& key) const;  // throws if missing
  Json& operator[](const std::string& key);      // inserts (object)
  void push(Json v);                             // appends (array)
  size_t size() const;

 private:
  Type type_ = Type::Null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Json> array_;
  std::map<std::string, Json> object_;
};

}  // namespace q3
