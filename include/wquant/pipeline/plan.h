// The quantization plan: for every tensor of a checkpoint, whether it is
// quantized, with which scheme, and why. Built before any data is read, so
// --dry-run can print it and the writer can lay out the output file.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "wquant/core/dtype.h"
#include "wquant/io/checkpoint.h"
#include "wquant/pipeline/arch_rules.h"
#include "wquant/quant/scheme.h"

namespace wquant {

// Returns the scheme described by `text`: dash- or comma-separated tokens
// w2|w3|w4|w8 (bits), channel|tensor|gN (granularity, gN = group size N),
// sym|asym. Unspecified parts come from `base`. Examples: "w4-g128-asym",
// "w8", "w8-tensor". Throws Error naming the bad token.
QuantScheme parse_scheme(const std::string& text, const QuantScheme& base);

struct SchemeOverride {
  std::string pattern;  // glob over layer names ("*.mlp.*")
  QuantScheme scheme;
};

struct PlanOptions {
  QuantScheme scheme;                     // default for every linear layer
  std::vector<std::string> exclude;       // globs: never quantize
  std::vector<std::string> include;       // globs: quantize even if excluded by default
  std::vector<SchemeOverride> overrides;  // globs -> scheme, last match wins
  DType float_dtype = DType::F32;         // dtype of unquantized tensors and scales
};

struct TensorPlan {
  std::string tensor;   // Hugging Face tensor name
  std::string layer;    // tensor name without ".weight": the module name
  Shape shape;          // as stored in the checkpoint
  TensorClass cls;
  bool quantize = false;
  std::string reason;   // why (not) quantized: "linear", "excluded: --exclude lm_head", ...
  QuantScheme scheme;   // valid when quantize
};

struct Plan {
  ArchRules rules;
  std::vector<TensorPlan> tensors;  // checkpoint order
  DType float_dtype = DType::F32;
  std::vector<std::string> warnings;  // e.g. an --exclude that matches nothing
  // Returns the number of tensors to quantize.
  size_t quantized_count() const;
};

// Returns `scheme` as the plan applies it to tensor t: a group size that does
// not divide t's input features shrunk to the largest one that does (said in
// *note if given); nullopt for a group larger than the layer.
std::optional<QuantScheme> fitted_scheme(const TensorPlan& t, QuantScheme scheme, std::string* note = nullptr);

// Returns the plan for `ckpt`. Architectures without exact rules (unknown or
// missing model_type) get the generic rule. A group size that does not divide
// a layer's input features is shrunk for that layer to the largest one that
// does (576 features, g128 -> g96), noted in its reason. Throws Error for a
// group larger than a layer (naming the layer and its shape) and for an
// --include/--override pattern that matches no tensor (an --exclude that
// matches nothing only adds to Plan::warnings).
Plan build_plan(const CheckpointReader& ckpt, const PlanOptions& options);

}  // namespace wquant
