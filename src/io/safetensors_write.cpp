// SafetensorsWriter: streams a .safetensors file without holding the tensors.
// The header is computed up front from the specs (the offsets follow from the
// shapes), so each tensor's bytes go straight to disk as they are produced.
//
// Tensors are packed back to back in spec order, with no gaps: the reference
// reader (the safetensors package) rejects holes in the data section. The
// header is padded with spaces to a multiple of 8 bytes, so the data section
// starts 8-aligned in the file (and in a page-aligned mapping of it).
#include "wquant/io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "wquant/core/error.h"

namespace wquant {
namespace {

// Writes all n bytes, retrying short writes and EINTR. Throws Error naming
// the file and `what` on failure (ENOSPC, EIO, ...).
void write_all(int fd, const std::string& path, const std::string& what,
               const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, std::min<size_t>(n, size_t(1) << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(path, ": writing ", what, " failed: ", std::strerror(errno));
    }
    if (w == 0) fail(path, ": writing ", what, " failed: write returned 0");
    p += w;
    n -= size_t(w);
  }
}

// Returns the byte size of a spec, failing on negative dims or overflow.
uint64_t spec_bytes(const std::string& path, const TensorSpec& s) {
  uint64_t bytes = dtype_size(s.dtype);
  for (int64_t d : s.shape) {
    if (d < 0) fail(path, ": tensor ", s.name, ": negative dimension in ", shape_str(s.shape));
    if (__builtin_mul_overflow(bytes, uint64_t(d), &bytes))
      fail(path, ": tensor ", s.name, ": shape ", shape_str(s.shape), " is too large");
  }
  return bytes;
}

// Returns the header bytes: 8-byte little-endian length, then the JSON padded
// with spaces so that 8 + length is a multiple of 8.
std::string build_header(const std::string& path, const std::vector<TensorSpec>& specs,
                         const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& s : specs) {
    if (s.name == "__metadata__") fail(path, ": \"__metadata__\" cannot be a tensor name");
    if (!names.insert(s.name).second) fail(path, ": tensor ", s.name, " is listed twice");
    uint64_t end = 0;
    if (__builtin_add_overflow(offset, spec_bytes(path, s), &end))
      fail(path, ": total tensor size overflows at tensor ", s.name);
    header[s.name] = {{"dtype", std::string(dtype_name(s.dtype))},
                      {"shape", s.shape},
                      {"data_offsets", {offset, end}}};
    offset = end;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;

  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = char((uint64_t(text.size()) >> (8 * i)) & 0xff);
  return out + text;
}

}  // namespace

SafetensorsWriter::SafetensorsWriter(const std::string& path, std::vector<TensorSpec> specs,
                                     const std::map<std::string, std::string>& metadata)
    : path_(path), specs_(std::move(specs)) {
  const std::string header = build_header(path_, specs_, metadata);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(path_, ": cannot create: ", std::strerror(errno));
  try {
    write_all(fd_, path_, "the header", header.data(), header.size());
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

SafetensorsWriter::~SafetensorsWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void SafetensorsWriter::write(const std::string& name, const void* data, size_t nbytes) {
  if (fd_ < 0) fail(path_, ": write of tensor ", name, " after the writer was closed or failed");
  if (next_ >= specs_.size())
    fail(path_, ": write of tensor ", name, " but all ", specs_.size(),
         " declared tensors were already written");
  const TensorSpec& spec = specs_[next_];
  if (name != spec.name)
    fail(path_, ": write of tensor ", name, " out of order: expected ", spec.name,
         " (tensor ", next_ + 1, " of ", specs_.size(), ")");
  const uint64_t expected = spec_bytes(path_, spec);
  if (nbytes != expected)
    fail(path_, ": tensor ", name, ": got ", nbytes, " bytes but ", dtype_name(spec.dtype),
         " ", shape_str(spec.shape), " needs ", expected);
  try {
    write_all(fd_, path_, cat("tensor ", name), data, nbytes);
  } catch (...) {
    // The file is now inconsistent with its header: refuse further writes.
    ::close(fd_);
    fd_ = -1;
    throw;
  }
  ++next_;
}

void SafetensorsWriter::finish() {
  if (fd_ < 0) fail(path_, ": finish() after the writer was closed or failed");
  if (next_ != specs_.size())
    fail(path_, ": finish() after ", next_, " of ", specs_.size(),
         " tensors; next missing: ", specs_[next_].name);
  const int fd = fd_;
  fd_ = -1;
  if (::fsync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    fail(path_, ": fsync failed: ", std::strerror(e));
  }
  if (::close(fd) != 0) fail(path_, ": close failed: ", std::strerror(errno));
}

}  // namespace wquant
