// Encoder: a bidirectional transformer that turns one token sequence into
// one hidden state per token (BERT and its sentence-embedding descendants,
// such as all-MiniLM-L6-v2). Architectures live one per file in src/models/
// and register by model_type in src/models/encoder_registry.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wquant/io/checkpoint.h"
#include "wquant/models/block_model.h"

namespace wquant {

// The config.json fields an encoder runs on.
struct EncoderConfig {
  std::string model_type;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t intermediate_size = 0;
  int64_t max_positions = 0;    // max_position_embeddings
  int64_t type_vocab_size = 0;
  float layer_norm_eps = 1e-12f;
};

// Also a BlockModel (calibration), without a language-model head.
class Encoder : public BlockModel {
 public:
  virtual const EncoderConfig& config() const = 0;
  // Returns the last hidden state [n, hidden_size] (row-major) of the
  // sequence `ids` (special tokens such as [CLS] / [SEP] included by the
  // caller), every token attending to every other. Throws Error for an empty
  // sequence, one longer than max_positions(), or an id outside the vocabulary.
  virtual std::vector<float> embed(const std::vector<int32_t>& ids) = 0;
  // Returns the width of a hidden state.
  virtual int64_t hidden_size() const = 0;
  // Returns the longest sequence embed() accepts (max_position_embeddings).
  virtual int64_t max_positions() const = 0;
};

// Loads the encoder in `ckpt` (float, or wquant's quantized output) for its
// config's model_type. Throws Error naming the checkpoint for an unknown
// model_type, listing the supported ones, and for missing tensors or wrong shapes.
std::unique_ptr<Encoder> load_encoder(const CheckpointReader& ckpt);

// Returns the model_types load_encoder supports.
std::vector<std::string> supported_encoders();

// Returns the sentence embedding [hidden_size] of a last hidden state
// `hidden` [n, hidden_size] the sentence-transformers way: the mean over the
// n tokens, then divided by its L2 norm (a zero vector stays zero).
std::vector<float> mean_pool_normalize(const std::vector<float>& hidden, int64_t n,
                                       int64_t hidden_size);

}  // namespace wquant
