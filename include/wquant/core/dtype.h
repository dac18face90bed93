// Element types of tensors stored in checkpoints, named as in safetensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace wquant {

enum class DType : uint8_t {
  F64, F32, F16, BF16,
  I64, I32, I16, I8,
  U64, U32, U16, U8,
  BOOL,
};

// Returns the size of one element in bytes.
size_t dtype_size(DType dtype);
// Returns the safetensors name: "F32", "BF16", "I8", ...
std::string_view dtype_name(DType dtype);
// Returns the dtype for a safetensors name, or nullopt if unknown.
std::optional<DType> dtype_from_name(std::string_view name);
// Returns true for F64/F32/F16/BF16.
bool is_float(DType dtype);

}  // namespace wquant
