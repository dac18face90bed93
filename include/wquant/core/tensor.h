// TensorView: a non-owning view of a dense row-major tensor (pointer, dtype,
// shape). Views point into an owner (a MappedFile, a std::vector) that must
// outlive them; a view never frees anything.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wquant/core/dtype.h"

namespace wquant {

using Shape = std::vector<int64_t>;

// Returns the product of the dimensions (1 for a scalar, shape {}).
int64_t numel(const Shape& shape);
// Returns "[576, 1536]".
std::string shape_str(const Shape& shape);

struct TensorView {
  DType dtype = DType::F32;
  Shape shape;
  const void* data = nullptr;

  int64_t numel() const { return wquant::numel(shape); }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype); }
};

// Converts a float tensor (F64/F32/F16/BF16) to f32. Throws Error for other dtypes.
std::vector<float> to_f32(const TensorView& view);
// Converts n f32 values to `dtype` (F32/F16/BF16), writing n * dtype_size bytes to out.
void from_f32(const float* in, size_t n, DType dtype, void* out);
// Returns v rounded to the nearest value representable in `dtype` (F32/F16/BF16).
float round_to_dtype(float v, DType dtype);

}  // namespace wquant
