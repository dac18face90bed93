#include "wquant/core/tensor.h"

#include <cstring>

#include "wquant/core/error.h"
#include "wquant/core/half.h"

namespace wquant {
namespace {

// Returns element i of a possibly unaligned array of T (views into files
// written by other tools need not be aligned; memcpy is defined either way).
template <class T>
T load(const void* base, size_t i) {
  T v;
  std::memcpy(&v, static_cast<const char*>(base) + i * sizeof(T), sizeof(T));
  return v;
}

}  // namespace

int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::vector<float> to_f32(const TensorView& view) {
  const size_t n = size_t(view.numel());
  std::vector<float> out(n);
  switch (view.dtype) {
    case DType::F32:
      if (n) std::memcpy(out.data(), view.data, n * 4);
      break;
    case DType::F64:
      for (size_t i = 0; i < n; ++i) out[i] = float(load<double>(view.data, i));
      break;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) out[i] = f16_to_f32(load<uint16_t>(view.data, i));
      break;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) out[i] = bf16_to_f32(load<uint16_t>(view.data, i));
      break;
    default:
      fail("cannot convert a ", dtype_name(view.dtype), " tensor to F32");
  }
  return out;
}

void from_f32(const float* in, size_t n, DType dtype, void* out) {
  switch (dtype) {
    case DType::F32:
      if (n) std::memcpy(out, in, n * 4);
      break;
    case DType::F16:
    case DType::BF16:
      // memcpy per element: `out` may be unaligned (a view into a file buffer).
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = dtype == DType::F16 ? f32_to_f16(in[i]) : f32_to_bf16(in[i]);
        std::memcpy(static_cast<char*>(out) + 2 * i, &h, 2);
      }
      break;
    default:
      fail("cannot convert F32 to ", dtype_name(dtype));
  }
}

float round_to_dtype(float v, DType dtype) {
  switch (dtype) {
    case DType::F32: return v;
    case DType::F16: return f16_to_f32(f32_to_f16(v));
    case DType::BF16: return bf16_to_f32(f32_to_bf16(v));
    default: fail("round_to_dtype: ", dtype_name(dtype), " is not F32/F16/BF16");
  }
}

}  // namespace wquant
