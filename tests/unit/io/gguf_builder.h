// GgufBuilder: GGUF files built byte by byte for the io tests
// (gguf_test.cpp, gguf_architectures_test.cpp), and write_temp to put one
// in the test's temporary directory.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "wquant/core/error.h"
#include "wquant/io/checkpoint_formats.h"
#include "wquant/io/gguf.h"

namespace wquant::gguf_test {

// Little-endian byte writer for hand-built files.
struct Bytes {
  std::vector<uint8_t> b;
  template <class T>
  Bytes& put(T v) {
    uint8_t raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof(T));
    b.insert(b.end(), raw, raw + sizeof(T));
    return *this;
  }
  Bytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
};

// Value type codes (GGUF_TYPE_*).
enum : uint32_t { U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32V = 6, BOOL = 7,
                  STR = 8, ARR = 9, U64 = 10, I64 = 11, F64 = 12 };

struct BuilderTensor {
  std::string name;
  std::vector<uint64_t> dims;
  uint32_t type;
  std::vector<uint8_t> data;
  std::optional<uint64_t> offset;  // default: packed after the previous, aligned
};

// A GGUF file: header, kv pairs (each already serialised), tensor infos, data.
struct GgufBuilder {
  std::string magic = "GGUF";
  uint32_t version = 3;
  std::optional<uint64_t> tensor_count, kv_count;  // override the real counts
  uint64_t alignment = 32;                         // for placing data only
  std::vector<Bytes> kvs;
  std::vector<BuilderTensor> tensors;

  GgufBuilder& kv_u32(const std::string& key, uint32_t v) {
    kvs.push_back(Bytes().str(key).put<uint32_t>(U32).put(v));
    return *this;
  }
  GgufBuilder& kv_str(const std::string& key, const std::string& v) {
    kvs.push_back(Bytes().str(key).put<uint32_t>(STR).str(v));
    return *this;
  }
  GgufBuilder& kv_f32(const std::string& key, float v) {
    kvs.push_back(Bytes().str(key).put<uint32_t>(F32V).put(v));
    return *this;
  }
  GgufBuilder& kv_raw(Bytes kv) {
    kvs.push_back(std::move(kv));
    return *this;
  }
  GgufBuilder& tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type,
                      std::vector<uint8_t> data, std::optional<uint64_t> offset = {}) {
    tensors.push_back({name, std::move(dims), type, std::move(data), offset});
    return *this;
  }
  // An F32 tensor holding `values`.
  GgufBuilder& f32_tensor(const std::string& name, std::vector<uint64_t> dims,
                          const std::vector<float>& values) {
    std::vector<uint8_t> data(values.size() * 4);
    std::memcpy(data.data(), values.data(), data.size());
    return tensor(name, std::move(dims), uint32_t(GgmlType::F32), std::move(data));
  }

  std::vector<uint8_t> build() const {
    Bytes out;
    out.b.insert(out.b.end(), magic.begin(), magic.end());
    out.put(version);
    out.put<uint64_t>(tensor_count.value_or(tensors.size()));
    out.put<uint64_t>(kv_count.value_or(kvs.size()));
    for (const Bytes& kv : kvs) out.b.insert(out.b.end(), kv.b.begin(), kv.b.end());
    std::vector<uint64_t> offsets;
    uint64_t next = 0;
    for (const BuilderTensor& t : tensors) {
      const uint64_t off = t.offset.value_or(next);
      offsets.push_back(off);
      next = std::max(next, (off + t.data.size() + alignment - 1) / alignment * alignment);
      out.str(t.name).put<uint32_t>(t.dims.size());
      for (uint64_t d : t.dims) out.put(d);
      out.put(t.type).put(off);
    }
    while (out.b.size() % alignment) out.b.push_back(0);
    const size_t data_start = out.b.size();
    for (size_t i = 0; i < tensors.size(); ++i) {
      const auto& d = tensors[i].data;
      if (d.empty()) continue;
      if (out.b.size() < data_start + offsets[i] + d.size()) {
        out.b.resize(data_start + offsets[i] + d.size());
      }
      std::copy(d.begin(), d.end(), out.b.begin() + data_start + offsets[i]);
    }
    return out.b;
  }
};

// Returns the path of a file `name` in the test temp directory holding `bytes`.
inline std::string write_temp(const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string path = ::testing::TempDir() + "wquant_gguf_" + name + ".gguf";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  return path;
}

// Expects open_gguf_checkpoint on a file `name` holding `bytes` to fail with
// an Error naming the file and `problem`.
inline void expect_rejected_checkpoint(const std::string& name, const std::vector<uint8_t>& bytes,
                                       const std::string& problem) {
  const std::string path = write_temp(name, bytes);
  try {
    open_gguf_checkpoint(path);
    ADD_FAILURE() << name << ": no error, expected '" << problem << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << "expected '" << problem << "' in: " << msg;
  }
}

}  // namespace wquant::gguf_test
