// CausalLM: a decoder-only language model with a KV cache. Architectures
// live one per file in src/models/ and register here by model_type.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wquant/io/checkpoint.h"
#include "wquant/models/block_model.h"
#include "wquant/models/config.h"

namespace wquant {

class CausalLM : public BlockModel {
 public:
  virtual const ModelConfig& config() const = 0;
  // Runs `n` tokens at positions position() .. position() + n - 1, appending
  // their keys and values to the cache. Writes the logits [vocab] of the last
  // token to `logits`, or of every token ([n, vocab]) when all_logits.
  // Throws Error if the tokens would pass the context length or an id is
  // outside the vocabulary.
  virtual void forward(const int32_t* tokens, int64_t n, float* logits, bool all_logits) = 0;
  // Returns the number of tokens in the cache.
  virtual int64_t position() const = 0;
  // Returns the most tokens the cache holds.
  virtual int64_t context_length() const = 0;
  // Empties the cache.
  virtual void reset() = 0;
};

// Loads the model in `ckpt` (float, GGUF, or wquant's quantized output) for
// its config's model_type. `context` caps the cache (0: max_position_embeddings).
// Throws Error naming the checkpoint for an unknown model_type, listing the
// supported ones, and for missing tensors or wrong shapes.
std::unique_ptr<CausalLM> load_causal_lm(const CheckpointReader& ckpt, int64_t context = 0);

// Returns the model_types load_causal_lm supports.
std::vector<std::string> supported_causal_lms();

}  // namespace wquant
