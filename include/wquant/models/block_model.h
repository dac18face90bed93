// BlockModel: what calibration runs of a model, one transformer block at a
// time over windows of tokens. The decoders (causal_lm.h) and the encoders
// (encoder.h) are both; the calibrate layer knows no architecture.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wquant/io/checkpoint.h"

namespace wquant {

class BlockModel {
 public:
  virtual ~BlockModel() = default;
  // The forward pass of a window of tokens at positions 0 .. n-1 is
  // embed_window, then block_window for b = 0, 1, ..., num_blocks() - 1, on a
  // hidden state x [n, hidden_width()] kept by the caller between blocks, so
  // a block can run on every window before the next block runs (for a
  // decoder: leaves its cache empty for forward()).
  // Returns the number of blocks (transformer layers).
  virtual int64_t num_blocks() const = 0;
  // Returns the floats per token of the hidden state between blocks.
  virtual int64_t hidden_width() const = 0;
  // Returns the longest window (context length, max_position_embeddings).
  virtual int64_t window_limit() const = 0;
  // Returns the vocabulary head_window gives logits over; 0: no language
  // model head (an encoder), head_window throws.
  virtual int64_t head_vocab() const = 0;
  // Writes x [n, hidden_width()] = the window's hidden state before block 0.
  // Throws Error for bad token ids or n past window_limit().
  virtual void embed_window(const int32_t* tokens, int64_t n, float* x) = 0;
  // Applies block b to the window's hidden state x [n, hidden_width()].
  virtual void block_window(int64_t b, float* x, int64_t n) = 0;
  // Writes logits [n, head_vocab()] of every position of the window's hidden
  // state x [n, hidden_width()] after the last block (final norm, lm_head).
  virtual void head_window(const float* x, int64_t n, float* logits) = 0;
};

// Loads `ckpt`'s model as a decoder (load_causal_lm, cache capped at
// `context`) or an encoder (load_encoder), by its config's model_type.
// Throws Error naming the checkpoint and listing supported_block_models()
// for any other model_type; errors of the loaders as they are.
std::unique_ptr<BlockModel> load_block_model(const CheckpointReader& ckpt, int64_t context);

// Returns the model_types load_block_model supports.
std::vector<std::string> supported_block_models();

}  // namespace wquant
