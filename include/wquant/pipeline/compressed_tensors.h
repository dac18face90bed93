// Writing quantized layers in the compressed-tensors convention
// ("pack-quantized" format), which Hugging Face transformers and vLLM load.
//
// Tensors of one quantized layer L with weight [out, in], b bits:
//   L.weight_packed     I32 [out, ceil(in * b / 32)]   pack_int32_rows layout
//   L.weight_scale      float_dtype: tensor [1] | channel [out, 1] | group [out, ngroups]
//   L.weight_zero_point asymmetric only: tensor: I8 [1];
//                       channel / group: I32 [ceil(out * b / 32), ngroups], the
//                       [out, ngroups] zero-points packed along dim 0 (columns)
//   L.weight_shape      I64 [2] = {out, in}
// Integers are stored offset to unsigned (q + 2^(b-1)), as pack_to_int32 does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wquant/io/safetensors.h"
#include "wquant/pipeline/plan.h"
#include "wquant/quant/quantize.h"

namespace wquant {

// Returns the specs of the tensors a quantized [out, in] layer is written as,
// in the order pack_quantized_layer returns their bytes.
std::vector<TensorSpec> packed_layer_specs(const std::string& layer, int64_t out, int64_t in,
                                           const QuantScheme& scheme, DType scale_dtype);

// Returns the bytes of the tensors of packed_layer_specs(...) together.
uint64_t packed_layer_bytes(int64_t out, int64_t in, const QuantScheme& scheme, DType scale_dtype);

// Returns the bytes of each tensor of packed_layer_specs(...) for `qt`.
std::vector<std::vector<uint8_t>> pack_quantized_layer(const QuantizedTensor& qt,
                                                       DType scale_dtype);

// Returns the "quantization_config" object for config.json: one config group
// per distinct scheme, targeting its layers by exact module name; the
// excluded linear layers (lm_head, --exclude) in "ignore".
nlohmann::json quantization_config(const Plan& plan);

// Returns "float32" / "float16" / "bfloat16" as config.json spells torch dtypes.
std::string torch_dtype_name(DType dtype);

}  // namespace wquant
