#include "safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <unordered_map>

#include "json.h"

namespace q3 {
namespace {

// Opens a regular file for reading. O_NONBLOCK: opening a named pipe then returns at once instead of waiting for a
// writer, and fstat tells it apart; a pipe, socket, device or directory is refused before anything is read.
struct Fd {
  int fd = -1;
  explicit Fd(const std::string& path) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw std::runtime_error(path + ": cannot open (" + std::strerror(errno) + ")");
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      throw std::runtime_error(path + ": cannot stat (" + std::strerror(err) + ")");
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw std::runtime_error(path + ": not a regular file (" + kindOf(st.st_mode) +
                               "); a safetensors file must be a regular file");
    }
    size = static_cast<uint64_t>(st.st_size);
  }
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  uint64_t size = 0;

  static std::string kindOf(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a named pipe";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    return "not a plain file";
  }
};

void preadAll(int fd, void* dst, uint64_t size, uint64_t offset, const std::string& path) {
  auto* out = static_cast<char*>(dst);
  while (size > 0) {
    ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::runtime_error(path + ": read failed at byte " + std::to_string(offset) + " (file truncated?)");
    out += n;
    size -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

}  // namespace

at::ScalarType scalarTypeOf(const std::string& dtype) {
  if (dtype == "F32") return at::kFloat;
  if (dtype == "BF16") return at::kBFloat16;
  if (dtype == "F16") return at::kHalf;
  if (dtype == "F64") return at::kDouble;
  if (dtype == "I64") return at::kLong;
  if (dtype == "I32") return at::kInt;
  if (dtype == "I8") return at::kChar;
  if (dtype == "U8") return at::kByte;
  if (dtype == "BOOL") return at::kBool;
  throw std::runtime_error("unsupported safetensors dtype " + dtype);
}

std::string dtypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "F32";
    case at::kBFloat16: return "BF16";
    case at::kHalf: return "F16";
    case at::kDouble: return "F64";
    case at::kLong: return "I64";
    case at::kInt: return "I32";
    case at::kByte: return "U8";
    default: throw std::runtime_error(std::string("cannot write dtype ") + c10::toString(t) + " to safetensors");
  }
}

SafetensorsFile::SafetensorsFile(std::string path) : path_(std::move(path)) {
  Fd f(path_);
  const uint64_t fileSize = f.size;
  if (fileSize < 8)
    throw std::runtime_error(path_ + ": not a safetensors file (" + std::to_string(fileSize) + " bytes)");
  unsigned char lenBytes[8];
  preadAll(f.fd, lenBytes, 8, 0, path_);
  const uint64_t headerLen = safetensorsHeaderLength(lenBytes);
  // Checked before the header is allocated: a corrupt length must not become a huge allocation.
  if (headerLen == 0 || headerLen > kMaxSafetensorsHeaderBytes || headerLen > fileSize - 8)
    throw std::runtime_error(path_ + ": corrupt or truncated safetensors header (header length " +
                             std::to_string(headerLen) + ", file size " + std::to_string(fileSize) + ")");
  std::string header(headerLen, '\0');
  preadAll(f.fd, header.data(), headerLen, 8, path_);
  try {
    entries_ = parseSafetensorsHeader(header, fileSize);
  } catch (const std::exception& e) {
    throw std::runtime_error(path_ + ": " + e.what());
  }
}

torch::Tensor SafetensorsFile::read(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw std::runtime_error(path_ + ": no tensor '" + name + "'");
  const TensorEntry& e = it->second;
  torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(scalarTypeOf(e.dtype)));
  Fd f(path_);
  preadAll(f.fd, t.data_ptr(), e.end - e.begin, e.begin, path_);
  return t;
}

torch::Tensor SafetensorsFile::map(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw std::runtime_error(path_ + ": no tensor '" + name + "'");
  if (!mapping_) {
    Fd f(path_);
    const size_t size = static_cast<size_t>(f.size);
    // MAP_PRIVATE with write permission: a caller that writes (LoRA merge, fine-tuning) gets private copies of the
    // touched pages and never changes the file.
    void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, f.fd, 0);
    if (base == MAP_FAILED) throw std::runtime_error(path_ + ": mmap failed (" + std::strerror(errno) + ")");
    mapping_ = std::shared_ptr<void>(base, [size](void* p) { ::munmap(p, size); });
  }
  const TensorEntry& e = it->second;
  auto keep = mapping_;
  char* data = static_cast<char*>(mapping_.get()) + e.begin;
  return torch::from_blob(
      data, e.shape, [keep](void*) mutable { keep.reset(); }, torch::TensorOptions().dtype(scalarTypeOf(e.dtype)));
}

TensorStore::TensorStore(const std::vector<std::string>& files) {
  if (files.empty()) throw std::runtime_error("no safetensors files given");
  for (const auto& path : files) files_.emplace_back(path);
  for (size_t i = 0; i < files_.size(); ++i) {
    for (const auto& kv : files_[i].entries()) {
      auto [it, inserted] = where_.emplace(kv.first, i);
      if (!inserted)
        throw std::runtime_error("tensor '" + kv.first + "' appears in both " + files_[it->second].path() + " and " +
                                 files_[i].path());
    }
  }
}

std::string TensorStore::fileList() const {
  std::string out;
  for (const auto& f : files_) out += (out.empty() ? "" : ", ") + f.path();
  return out;
}

const TensorEntry& TensorStore::entry(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw std::runtime_error("missing tensor '" + name + "'");
  return files_[it->second].entries().at(name);
}

const std::string& TensorStore::fileOf(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw std::runtime_error("missing tensor '" + name + "'");
  return files_[it->second].path();
}

torch::Tensor TensorStore::load(const std::string& name, const std::vector<int64_t>& expectedShape,
                                at::ScalarType dtype) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw std::runtime_error("missing tensor '" + name + "' (looked in " + fileList() + ")");
  const SafetensorsFile& file = files_[it->second];
  const TensorEntry& e = file.entries().at(name);
  if (e.shape != expectedShape)
    throw std::runtime_error(file.path() + ": tensor '" + name + "' has shape " + shapeString(e.shape) +
                             " but the config expects " + shapeString(expectedShape));
  if (e.dtype != "F32" && e.dtype != "BF16" && e.dtype != "F16")
    throw std::runtime_error(file.path() + ": tensor '" + name + "' has dtype " + e.dtype +
                             "; expected F32, BF16 or F16");
  torch::Tensor t = file.read(name);
  return t.scalar_type() == dtype ? t : t.to(dtype);
}

torch::Tensor TensorStore::loadMapped(const std::string& name, const std::vector<int64_t>& expectedShape,
                                      at::ScalarType dtype) const {
  auto it = where_.find(name);
  if (it == where_.end()) return load(name, expectedShape, dtype);  // load() explains what is missing
  const SafetensorsFile& file = files_[it->second];
  const TensorEntry& e = file.entries().at(name);
  const size_t align = static_cast<size_t>(c10::elementSize(dtype));
  if (e.dtype != dtypeName(dtype) || e.shape != expectedShape || e.begin % align != 0)
    return load(name, expectedShape, dtype);
  return file.map(name);
}

std::shared_ptr<RowReader> TensorStore::rowReader(const std::string& name, at::ScalarType dtype) const {
  auto it = where_.find(name);
  if (it == where_.end()) return nullptr;
  const SafetensorsFile& file = files_[it->second];
  const TensorEntry& e = file.entries().at(name);
  if (e.dtype != dtypeName(dtype) || e.shape.size() != 2) return nullptr;
  return std::make_shared<RowReader>(file.path(), e);
}

RowReader::RowReader(std::string path, TensorEntry entry) : path_(std::move(path)), entry_(std::move(entry)) {
  auto file = std::make_shared<Fd>(path_);
  fd_ = std::shared_ptr<const int>(file, &file->fd);  // the descriptor, kept open (and closed) by its Fd
}

torch::Tensor RowReader::rows(const torch::Tensor& ids) const {
  const int64_t count = entry_.shape[0], columns = entry_.shape[1];
  const torch::Tensor flat = ids.to(torch::kLong).contiguous().view({-1});
  const int64_t* id = flat.data_ptr<int64_t>();
  const int64_t n = flat.numel();
  // Each distinct row is read once; `slot` maps a row number to its place among the distinct rows.
  std::unordered_map<int64_t, int64_t> slot;
  std::vector<int64_t> inverse(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (id[i] < 0 || id[i] >= count)
      throw std::out_of_range("token id " + std::to_string(id[i]) + " is outside the vocabulary [0, " +
                              std::to_string(count) + ")");
    inverse[i] = slot.emplace(id[i], static_cast<int64_t>(slot.size())).first->second;
  }
  torch::Tensor distinct = torch::empty({static_cast<int64_t>(slot.size()), columns},
                                        torch::TensorOptions().dtype(scalarTypeOf(entry_.dtype)));
  const uint64_t rowBytes = static_cast<uint64_t>(columns) * distinct.element_size();
  auto* out = static_cast<char*>(distinct.data_ptr());
  for (const auto& [row, place] : slot)
    preadAll(*fd_, out + place * rowBytes, rowBytes, entry_.begin + static_cast<uint64_t>(row) * rowBytes, path_);
  torch::Tensor picked = distinct.index_select(0, torch::tensor(inverse, torch::kLong));  // [n, columns]
  std::vector<int64_t> shape = ids.sizes().vec();
  shape.push_back(columns);
  return picked.view(shape);
}

void writeFileAtomic(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(tmp + ": cannot create (" + std::strerror(errno) + ")");
  const char* p = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error(tmp + ": write failed (" + std::strerror(errno) + ")");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(path + ": rename failed (" + std::strerror(errno) + ")");
  }
}

void writeSafetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) {
    Json meta = Json::object();
    for (const auto& kv : metadata) meta[kv.first] = kv.second;
    header["__metadata__"] = meta;
  }
  std::vector<torch::Tensor> cpu;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    Json entry = Json::object();
    entry["dtype"] = dtypeName(t.scalar_type());
    Json shape = Json::array();
    for (int64_t d : t.sizes()) shape.push(d);
    entry["shape"] = shape;
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    Json offs = Json::array();
    offs.push(static_cast<int64_t>(offset));
    offs.push(static_cast<int64_t>(offset + bytes));
    entry["data_offsets"] = offs;
    header[name] = entry;
    offset += bytes;
    cpu.push_back(t);
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h += ' ';
  std::string out;
  out.reserve(8 + h.size() + offset);
  uint64_t len = h.size();
  for (int i = 0; i < 8; ++i) out += static_cast<char>((len >> (8 * i)) & 0xFF);
  out += h;
  for (const auto& t : cpu) out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  writeFileAtomic(path, out);
}

}  // namespace q3
