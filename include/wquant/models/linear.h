// Linear: one linear layer of a model, y = x W^T + b, with W [out, in]
// either float (F32/F16/BF16, a zero-copy view into the mapped checkpoint
// when stored so) or quantized in the compressed-tensors pack-quantized
// layout (packed integers and scales also viewed in place).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "wquant/core/tensor.h"
#include "wquant/io/checkpoint.h"
#include "wquant/kernels/thread_pool.h"
#include "wquant/kernels/weight_matrix.h"
#include "wquant/quant/scheme.h"

namespace wquant {

// The compressed-tensors quantization_config of a checkpoint: which scheme
// quantizes which layer.
class QuantizationInfo {
 public:
  // Parses config["quantization_config"] (absent: nothing is quantized).
  // Throws Error naming `where` for a format wquant cannot run.
  QuantizationInfo(const nlohmann::json& config, const std::string& where);
  // Returns the scheme of layer `name`, or nullopt if it is not quantized.
  std::optional<QuantScheme> scheme_for(const std::string& name) const;

 private:
  // An exact name, "Linear" (every linear layer), or a "re:" regex
  // (compiled when the config is read: a bad one is an Error there).
  struct Target {
    std::string text;
    std::shared_ptr<const std::regex> re;
    bool matches(const std::string& name) const;
  };
  struct Group {
    std::vector<Target> targets;
    QuantScheme scheme;
  };
  Target target(const nlohmann::json& j, const std::string& where) const;
  std::vector<Group> groups_;
  std::vector<Target> ignore_;
};

// How a float weight is stored: [out, in] (torch.nn.Linear) or [in, out]
// (GPT-2's Conv1D). wquant's quantized output always stores [out, in].
enum class WeightLayout { OutIn, InOut };

class Linear;

// What calibration sees of the model: every Linear::forward on the thread
// that set the hook first calls observe(layer, x, n) with the layer's input
// x [n, in_features], then runs on replacement(layer) instead of the
// layer's own weight when that is not null (a weight of the same shape, e.g.
// the layer just quantized, so the next block sees quantized outputs). The
// architectures need no code of their own for it.
class LinearHook {
 public:
  virtual ~LinearHook() = default;
  virtual void observe(const Linear& layer, const float* x, int64_t n) = 0;
  virtual const WeightMatrix* replacement(const Linear& layer) = 0;
};

// Installs `hook` for Linear::forward calls on the calling thread while in
// scope (nesting restores the previous one).
class ScopedLinearHook {
 public:
  explicit ScopedLinearHook(LinearHook* hook);
  ~ScopedLinearHook();
  ScopedLinearHook(const ScopedLinearHook&) = delete;
  ScopedLinearHook& operator=(const ScopedLinearHook&) = delete;

 private:
  LinearHook* previous_;
};

class Linear {
 public:
  // Loads layer `name` (e.g. "model.layers.0.self_attn.q_proj") from ckpt.
  // With `with_bias`, `name.bias` must exist. A float InOut weight is
  // transposed once at load into an owned f32 copy; a quantized weight of a
  // width the kernels have no SIMD path for (3 bits) is repacked to 4 bits. Throws Error naming the
  // tensor, its shape and the expected shape when they disagree.
  static Linear load(const CheckpointReader& ckpt, const QuantizationInfo& quant,
                     const std::string& name, int64_t out, int64_t in, bool with_bias,
                     WeightLayout layout = WeightLayout::OutIn);

  // Returns the module name, e.g. "model.layers.0.self_attn.q_proj".
  const std::string& name() const { return name_; }
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  bool quantized() const { return bits_ > 0; }

  // y [n, out] = x [n, in] W^T + b, with the SIMD kernels (kernels/linear.h):
  // matvec for one token, matmul for several, rows split over `pool`
  // (observed, and W replaced, by the thread's LinearHook if one is set).
  void forward(const float* x, int64_t n, float* y, ThreadPool& pool) const;
  // Returns the kernels' view of the weight.
  const WeightMatrix& matrix() const { return matrix_; }
  // Writes row r of W, dequantized to f32, to out [in].
  void row(int64_t r, float* out) const;

 private:
  std::string name_;
  int64_t out_ = 0, in_ = 0;
  // Float weight: a view, backed by `owned_` when the checkpoint could not
  // give one (GGUF block types are dequantized at load).
  TensorView weight_;
  std::shared_ptr<std::vector<float>> owned_;
  // Quantized codes repacked at load (3-bit weights widened to 4 bits for
  // the 4-bit kernels); empty when the checkpoint's words are read in place.
  std::shared_ptr<std::vector<int32_t>> owned_codes_;
  // Quantized weight (bits_ > 0).
  int bits_ = 0;
  QuantScheme scheme_;
  TensorView scales_;                 // [out, groups] (per tensor: [1])
  std::vector<int8_t> zero_points_;   // [out, groups] unpacked; empty if symmetric
  int64_t groups_ = 1;
  std::vector<float> bias_;
  WeightMatrix matrix_;
};

}  // namespace wquant
