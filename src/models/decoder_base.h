// DecoderBase: the bookkeeping every causal decoder in src/models/ shares
// (KV caches, context, position, token checks). Internal to the models layer.
#pragma once

#include <string>
#include <vector>

#include "wquant/io/checkpoint.h"
#include "wquant/kernels/attention.h"
#include "wquant/kernels/thread_pool.h"
#include "wquant/models/causal_lm.h"
#include "wquant/models/linear.h"
#include "weights.h"

namespace wquant {

// A causal LM with one KV cache per layer, each [position, kv_dim] for keys
// and for values, and a thread pool for the linear layers.
class DecoderBase : public CausalLM {
 public:
  const ModelConfig& config() const override { return config_; }
  int64_t position() const override { return pos_; }
  int64_t context_length() const override { return context_; }
  void reset() override;
  // Runs embed, every layer_forward, then head; advances the position.
  void forward(const int32_t* tokens, int64_t n, float* logits, bool all_logits) final;
  int64_t num_blocks() const final { return config_.num_layers; }
  int64_t hidden_width() const final { return config_.hidden_size; }
  int64_t window_limit() const final { return context_; }
  int64_t head_vocab() const final { return config_.vocab_size; }
  void embed_window(const int32_t* tokens, int64_t n, float* x) final;
  void block_window(int64_t b, float* x, int64_t n) final;
  void head_window(const float* x, int64_t n, float* logits) final;

 protected:
  // The architecture's parts of the forward pass, at positions pos_ .. pos_ + n - 1:
  // x [n, hidden] = the embeddings of tokens (positions included);
  virtual void embed(const int32_t* tokens, int64_t n, float* x) = 0;
  // x [n, hidden] <- transformer layer `index` applied to x (appends to its cache);
  virtual void layer_forward(size_t index, float* x, int64_t n) = 0;
  // logits [m, vocab] of the last m = all_logits ? n : 1 tokens of x [n, hidden].
  virtual void head(const float* x, int64_t n, float* logits, bool all_logits) = 0;

  // `context` caps the cache (0 or more than max_positions: max_positions).
  DecoderBase(ModelConfig config, int64_t context);

  // Returns the checkpoint's lm_head [vocab, in] (with its bias if the file
  // has one), or `embeddings` when there is none and the config ties them.
  // Throws Error naming the checkpoint if neither.
  Linear load_lm_head(const CheckpointReader& ckpt, const QuantizationInfo& quant,
                      const Linear& embeddings, int64_t in) const;

  // Appends the keys and values k, v [n, kv_heads * head_dim] of n new tokens
  // to layer `layer`'s cache and writes to out [n, heads * head_dim] the
  // causal attention of their queries q [n, heads * head_dim] over the cache
  // (scores q . k * scale, within `limits`). Call before pos_ advances.
  void cached_attention(size_t layer, const float* q, const float* k, const float* v, int64_t n,
                        float scale, float* out, const AttentionLimits& limits = {});

  // Throws Error unless n > 0 tokens fit after the cached ones and every id
  // is inside the vocabulary.
  void check_tokens(const int32_t* tokens, int64_t n) const;

  struct KvCache {
    std::vector<float> k, v;  // [position, kv_heads * head_dim]
  };

  ModelConfig config_;
  ThreadPool pool_;  // hardware_concurrency threads for the linear layers
  int64_t context_ = 0;
  int64_t pos_ = 0;
  std::vector<KvCache> caches_;  // one per layer
};

}  // namespace wquant
