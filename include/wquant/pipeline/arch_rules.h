// Which tensors of a checkpoint are the weights of linear layers, per
// architecture (config.json "model_type"), and how they are laid out.
#pragma once

#include <string>
#include <vector>

#include "wquant/core/tensor.h"

namespace wquant {

enum class TensorRole {
  Linear,     // weight of a linear layer: quantized unless excluded
  LmHead,     // output projection: a linear layer, excluded by default
  Embedding,  // token / position embeddings: excluded by default
  Other,      // norms, biases, anything else: copied as is
};

struct TensorClass {
  TensorRole role = TensorRole::Other;
  // True when the weight is stored [in_features, out_features] (GPT-2's
  // Conv1D): it is transposed to [out, in] before quantization so that
  // channels and groups follow the output / input dimensions as for Linear.
  bool transposed = false;
};

// An AWQ smoothing pair of a transformer block: `previous` (a norm, or a
// linear layer whose output feeds only `layers`) has its output channels
// divided by scales s that `layers`' input columns are multiplied by, which
// leaves the float model's function unchanged. Names are suffixes of the
// block's module names ("input_layernorm", "self_attn.q_proj"); the block
// prefix ("model.layers.3.") is what precedes them.
struct SmoothingRule {
  std::string previous;
  bool previous_is_linear = false;
  std::vector<std::string> layers;
};

struct ArchRules {
  std::string model_type;  // as in config.json; "generic" for the fallback
  bool known = false;      // false: the generic rule was used
  // Returns the role of tensor `name` with shape `shape`.
  TensorClass (*classify)(const std::string& name, const Shape& shape) = nullptr;
  // AWQ's smoothing pairs, in the order they are searched; empty where the
  // norms cannot take the scales (post-norm BERT: the norm feeds the residual).
  std::vector<SmoothingRule> smoothing;
};

// Returns the rules for `model_type`; unknown types get the generic rule:
// 2-D ".weight" tensors whose name does not look like an embedding or a norm.
ArchRules arch_rules_for(const std::string& model_type);
// Returns the model_types with exact rules, for messages and --help.
std::vector<std::string> known_model_types();

}  // namespace wquant
