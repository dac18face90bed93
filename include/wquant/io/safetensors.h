// safetensors: read (memory-mapped, zero copy, fully validated) and write
// (streaming: header first, then each tensor's bytes in declared order).
//
// File layout: u64 little-endian N, then N bytes of JSON header
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "string value"}}, then the data; offsets are
// relative to the end of the header.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "wquant/core/mapped_file.h"
#include "wquant/core/tensor.h"

namespace wquant {

struct SafetensorsEntry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte offsets into the data section
};

class SafetensorsFile {
 public:
  // Maps and validates `path`: header size within the file and below 100 MB,
  // valid JSON, known dtypes, non-negative shapes, end - begin == numel *
  // dtype size, offsets inside the data section and not overlapping.
  // Throws Error naming the file (and the tensor) and the problem.
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return file_.path(); }
  // Returns the entries in data-offset order.
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Returns the entry for name, or nullptr.
  const SafetensorsEntry* find(const std::string& name) const;
  // Returns a view into the mapping. Throws Error naming file and tensor if absent.
  TensorView view(const std::string& name) const;
  // Drops the tensor's pages from the resident set (see MappedFile::release).
  void release(const std::string& name) const;

 private:
  MappedFile file_;
  const uint8_t* data_ = nullptr;  // start of the data section
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

struct TensorSpec {
  std::string name;
  DType dtype;
  Shape shape;
};

class SafetensorsWriter {
 public:
  // Creates `path` and writes the header for `specs` (data laid out in spec
  // order, each tensor aligned to 8 bytes by header padding).
  SafetensorsWriter(const std::string& path, std::vector<TensorSpec> specs,
                    const std::map<std::string, std::string>& metadata = {});
  ~SafetensorsWriter();  // closes; a file not finish()ed is left incomplete
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  // Writes the next tensor's bytes; name and size must match the next spec.
  // Throws Error naming the file on a mismatch or a failed write (ENOSPC, EIO).
  void write(const std::string& name, const void* data, size_t nbytes);
  // Checks every tensor was written, flushes and fsyncs. Throws Error on failure.
  void finish();

 private:
  std::string path_;
  std::vector<TensorSpec> specs_;
  size_t next_ = 0;
  int fd_ = -1;
};

}  // namespace wquant
