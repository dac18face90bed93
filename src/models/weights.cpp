#include "weights.h"

#include <algorithm>

#include "wquant/core/error.h"
#include "wquant/models/ops.h"

namespace wquant {

bool has_weight(const CheckpointReader& ckpt, const std::string& layer) {
  return ckpt.has(layer + ".weight") || ckpt.has(layer + ".weight_packed");
}

std::vector<float> load_vector(const CheckpointReader& ckpt, const std::string& name, int64_t n) {
  const TensorInfo& info = ckpt.info(name);
  if (info.shape != Shape{n})
    fail(ckpt.path(), ": tensor ", name, " has shape ", shape_str(info.shape), ", expected [", n, "]");
  return ckpt.read_f32(name);
}

void LayerNormWeights::apply(const float* x, int64_t n, float eps, float* out) const {
  ops::layer_norm(x, weight.empty() ? nullptr : weight.data(), bias.empty() ? nullptr : bias.data(),
                  n, eps, out);
}

LayerNormWeights load_layer_norm(const CheckpointReader& ckpt, const std::string& name, int64_t n,
                                 bool affine) {
  if (!affine) return {};
  return {load_vector(ckpt, name + ".weight", n), load_vector(ckpt, name + ".bias", n)};
}

}  // namespace wquant
