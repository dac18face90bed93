// GGUF (version 3; 2 accepted) reader: metadata, tensor infos, and
// dequantization of F32/F16/BF16, Q8_0/Q4_0/Q4_1/Q5_0/Q5_1/IQ4_NL, the
// K-quants Q2_K..Q6_K/IQ4_XS and the i-quants IQ1_S/IQ1_M/IQ2_XXS/IQ2_XS/IQ2_S/
// IQ3_XXS/IQ3_S to f32.
//
// File layout (little-endian): magic "GGUF", u32 version, u64 tensor_count,
// u64 kv_count, kv pairs (gguf string key, u32 type, value), tensor infos
// (name, u32 n_dims, u64 dims[n_dims] innermost first, u32 ggml_type,
// u64 offset), padding to general.alignment (default 32), tensor data.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "wquant/core/mapped_file.h"
#include "wquant/core/tensor.h"

namespace wquant {

// ggml tensor types, numbered as in ggml.h.
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8,
  Q8_1 = 9, Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
  IQ4_XS = 23, IQ1_M = 29, BF16 = 30,
};

// Returns "Q4_1" etc., or "type<N>" for a number this reader does not know.
std::string ggml_type_name(uint32_t type);

// How a ggml type packs values: `values` consecutive values (along dims[0])
// are stored in one block of `bytes` bytes.
struct GgmlBlockLayout {
  uint32_t values = 0;
  uint32_t bytes = 0;
};
// Returns the block layout of every GgmlType above (dequantizable or not), or
// nullopt for a type number this reader does not know.
std::optional<GgmlBlockLayout> ggml_block_layout(uint32_t type);
// Returns true when dequantize_ggml supports `type`.
bool ggml_can_dequantize(uint32_t type);
// Returns the names of the types dequantize_ggml supports, e.g. "F32, F16, ...".
std::string ggml_dequantizable_names();

struct GgufTensorInfo {
  std::string name;       // llama.cpp name, e.g. "blk.0.attn_q.weight"
  std::vector<uint64_t> dims;  // ggml order: dims[0] is the innermost (contiguous)
  uint32_t type = 0;      // GgmlType value
  uint64_t offset = 0;    // relative to the data section
  uint64_t nbytes = 0;    // computed from type and dims
  // Returns the row-major (Hugging Face order) shape: dims reversed.
  Shape shape() const;
};

// A metadata value: scalars widened, strings, arrays of scalars or strings.
using GgufValue = std::variant<int64_t, uint64_t, double, bool, std::string,
                               std::vector<int64_t>, std::vector<double>,
                               std::vector<std::string>>;

class GgufFile {
 public:
  // Maps and parses `path`, validating counts, string lengths, types, and that
  // every tensor's data lies inside the file. Throws Error naming the file.
  explicit GgufFile(const std::string& path);

  const std::string& path() const { return file_.path(); }
  uint32_t version() const { return version_; }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find(const std::string& name) const;
  // Returns a pointer to the tensor's raw bytes in the mapping.
  const uint8_t* raw(const GgufTensorInfo& t) const;
  // Returns the tensor dequantized to f32, row-major. Throws Error naming file,
  // tensor and type if the type is not supported.
  std::vector<float> dequantize(const GgufTensorInfo& t) const;
  // Drops the tensor's pages from the resident set (see MappedFile::release).
  void release(const GgufTensorInfo& t) const;

 private:
  MappedFile file_;
  uint32_t version_ = 0;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  const uint8_t* data_ = nullptr;
};

// Dequantizes n values (a multiple of the block size) of ggml type `type`
// from `src` to f32. Scalar reference. Throws Error for unsupported types.
void dequantize_ggml(uint32_t type, const uint8_t* src, size_t n, float* out);

}  // namespace wquant
