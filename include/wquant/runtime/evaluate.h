// Evaluation of a causal LM on a text: perplexity, and against a reference
// model (usually the float original of a quantized model) the measures
// llama.cpp's perplexity tool reports: mean KL divergence, top-1 agreement
// and the difference in perplexity.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "wquant/models/causal_lm.h"

namespace wquant {

struct EvalOptions {
  int64_t context = 256;   // tokens per chunk; each chunk starts a fresh cache
  int64_t max_chunks = 0;  // 0: every whole chunk of the text
  // Runs `model` one token at a time through its KV cache, as decoding does
  // (the matrix-vector kernels, whose activations are rounded to 16-bit
  // integers: linear.h), instead of one batched pass per chunk (the GEMM,
  // f32 activations). The reference always runs batched. Comparing the two
  // shows what the decode path's activation rounding costs in KL divergence.
  bool token_by_token = false;
};

// One chunk's measures (the same means as EvalResult's, over its tokens).
struct ChunkEval {
  double nll = 0, reference_nll = 0;
  double mean_kl = 0, max_kl = 0, top1_agreement = 0;  // with a reference
};

struct EvalResult {
  int64_t chunks = 0;
  int64_t scored_tokens = 0;  // per chunk: every token but the first is predicted
  double nll = 0;             // mean negative log-likelihood, nats
  double perplexity = 0;      // exp(nll)
  bool has_reference = false;
  double reference_perplexity = 0;
  double mean_kl = 0;         // mean over scored tokens of KL(reference || model), nats
  double max_kl = 0;
  double top1_agreement = 0;  // fraction of scored tokens with the same argmax
  double seconds = 0;
  std::vector<ChunkEval> per_chunk;  // chunk by chunk, in text order
};

// Called after each chunk: (done, total).
using EvalProgress = std::function<void(int64_t, int64_t)>;

// Evaluates `model` (and `reference`, if not null) on `tokens`, cut into
// whole chunks of options.context tokens. Throws Error if the text is
// shorter than one chunk (naming both lengths) or the chunk is longer than
// a model's context.
EvalResult evaluate(CausalLM& model, CausalLM* reference, const std::vector<int32_t>& tokens,
                    const EvalOptions& options, const EvalProgress& progress = {});

}  // namespace wquant
