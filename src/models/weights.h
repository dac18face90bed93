// Weight-loading helpers shared by the architectures in src/models/:
// tensor lookup, 1-D vectors, LayerNorm weights. Internal to the models layer.
#pragma once

#include <string>
#include <vector>

#include "wquant/io/checkpoint.h"

namespace wquant {

// Returns true if the checkpoint has the weight of layer `layer`, float
// (`layer.weight`) or quantized (`layer.weight_packed`).
bool has_weight(const CheckpointReader& ckpt, const std::string& layer);

// Returns the f32 values of the 1-D tensor `name`, which must be [n]; throws
// Error naming the checkpoint, the tensor and both shapes otherwise.
std::vector<float> load_vector(const CheckpointReader& ckpt, const std::string& name, int64_t n);

// A LayerNorm's weight and bias, each [n] (empty: no elementwise affine).
struct LayerNormWeights {
  std::vector<float> weight, bias;
  // out [n] = LayerNorm(x [n]); out may equal x.
  void apply(const float* x, int64_t n, float eps, float* out) const;
};

// Loads `name`.weight and `name`.bias, each [n]; with affine false, loads
// nothing (weight 1, bias 0).
LayerNormWeights load_layer_norm(const CheckpointReader& ckpt, const std::string& name, int64_t n,
                                 bool affine = true);

}  // namespace wquant
