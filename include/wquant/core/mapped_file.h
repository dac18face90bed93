// MappedFile: owns a read-only memory mapping of a whole file. Tensors read
// from checkpoints are TensorViews into it: no copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace wquant {

class MappedFile {
 public:
  // Maps `path` read-only. Throws Error naming the file if it cannot be
  // opened or mapped. An empty file maps to size() == 0, data() == nullptr.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Drops the pages holding [p, p + n) from this process's resident set
  // (madvise MADV_DONTNEED; they are read again from the file if touched).
  // Streaming readers call it after each tensor so that peak RSS follows the
  // largest tensor, not the file. A range outside the mapping is ignored.
  void release(const void* p, size_t n) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace wquant
