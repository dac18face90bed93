#include "decoder_base.h"

#include <algorithm>

#include "wquant/core/error.h"
#include "wquant/kernels/attention.h"

namespace wquant {

DecoderBase::DecoderBase(ModelConfig config, int64_t context) : config_(std::move(config)) {
  context_ = context > 0 ? std::min(context, config_.max_positions) : config_.max_positions;
  caches_.resize(size_t(config_.num_layers));
}

void DecoderBase::reset() {
  pos_ = 0;
  for (auto& c : caches_) c.k.clear(), c.v.clear();
}

void DecoderBase::forward(const int32_t* tokens, int64_t n, float* logits, bool all_logits) {
  check_tokens(tokens, n);
  std::vector<float> x(size_t(n * config_.hidden_size));
  embed(tokens, n, x.data());
  for (size_t i = 0; i < caches_.size(); ++i) layer_forward(i, x.data(), n);
  head(x.data(), n, logits, all_logits);
  pos_ += n;
}

void DecoderBase::embed_window(const int32_t* tokens, int64_t n, float* x) {
  reset();
  check_tokens(tokens, n);
  embed(tokens, n, x);
}

void DecoderBase::block_window(int64_t b, float* x, int64_t n) {
  if (b < 0 || b >= num_blocks()) fail("block_window: block ", b, " of ", num_blocks());
  reset();
  if (n <= 0 || n > context_) fail("block_window: ", n, " tokens for a context of ", context_);
  layer_forward(size_t(b), x, n);
  reset();
}

void DecoderBase::head_window(const float* x, int64_t n, float* logits) {
  if (n <= 0 || n > context_) fail("head_window: ", n, " tokens for a context of ", context_);
  head(x, n, logits, true);
}

Linear DecoderBase::load_lm_head(const CheckpointReader& ckpt, const QuantizationInfo& quant,
                                 const Linear& embeddings, int64_t in) const {
  if (has_weight(ckpt, "lm_head"))
    return Linear::load(ckpt, quant, "lm_head", config_.vocab_size, in,
                        ckpt.has("lm_head.bias"));
  if (config_.tie_word_embeddings) return embeddings;
  fail(ckpt.path(), ": no lm_head.weight and tie_word_embeddings is false");
}

void DecoderBase::check_tokens(const int32_t* tokens, int64_t n) const {
  if (n <= 0) fail("forward: no tokens");
  if (pos_ + n > context_)
    fail("forward: ", pos_, " cached + ", n, " new tokens exceed the context of ", context_);
  for (int64_t t = 0; t < n; ++t)
    if (tokens[t] < 0 || tokens[t] >= config_.vocab_size)
      fail("forward: token id ", tokens[t], " outside the vocabulary of ", config_.vocab_size);
}

void DecoderBase::cached_attention(size_t layer, const float* q, const float* k, const float* v,
                                   int64_t n, float scale, float* out,
                                   const AttentionLimits& limits) {
  const ModelConfig& c = config_;
  const int64_t kv_dim = c.num_kv_heads * c.head_dim;
  KvCache& cache = caches_[layer];
  cache.k.insert(cache.k.end(), k, k + n * kv_dim);
  cache.v.insert(cache.v.end(), v, v + n * kv_dim);
  attention({c.num_heads, c.num_kv_heads, c.head_dim}, q, n, cache.k.data(), cache.v.data(),
            pos_ + n, /*causal=*/true, scale, out, pool_, limits);
}

}  // namespace wquant
