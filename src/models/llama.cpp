// Llama family (llama, mistral, qwen2; SmolLM2 is llama): pre-norm decoder
// with RMSNorm, rotary position embedding (rotate_half), grouped-query
// attention and a SwiGLU MLP.
//
// Hugging Face tensor names (N = layer):
//   model.embed_tokens.weight                      [vocab, hidden]
//   model.layers.N.input_layernorm.weight          [hidden]
//   model.layers.N.self_attn.{q,k,v}_proj.weight   [heads*hd | kv_heads*hd, hidden] (+ .bias for qwen2)
//   model.layers.N.self_attn.o_proj.weight         [hidden, heads*hd]
//   model.layers.N.post_attention_layernorm.weight [hidden]
//   model.layers.N.mlp.{gate,up}_proj.weight       [intermediate, hidden]
//   model.layers.N.mlp.down_proj.weight            [hidden, intermediate]
//   model.norm.weight                              [hidden]
//   lm_head.weight                                 [vocab, hidden] (absent when tied)
#include <algorithm>
#include <cmath>

#include "wquant/core/error.h"
#include "wquant/models/causal_lm.h"
#include "wquant/models/linear.h"
#include "wquant/models/ops.h"
#include "decoder_base.h"
#include "llama.h"

namespace wquant {
namespace {

struct Layer {
  std::vector<float> input_norm, post_norm;
  Linear q, k, v, o, gate, up, down;
};

class Llama : public DecoderBase {
 public:
  Llama(const CheckpointReader& ckpt, int64_t context)
      : DecoderBase(llama_config_from_json(ckpt.config(), ckpt.path()), context) {
    const ModelConfig& c = config_;
    const QuantizationInfo quant(ckpt.config(), ckpt.path());
    const int64_t q_dim = c.num_heads * c.head_dim, kv_dim = c.num_kv_heads * c.head_dim;
    embed_ = Linear::load(ckpt, quant, "model.embed_tokens", c.vocab_size, c.hidden_size, false);
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      layers_.push_back(Layer{
          load_vector(ckpt, p + "input_layernorm.weight", c.hidden_size),
          load_vector(ckpt, p + "post_attention_layernorm.weight", c.hidden_size),
          Linear::load(ckpt, quant, p + "self_attn.q_proj", q_dim, c.hidden_size, c.attention_bias),
          Linear::load(ckpt, quant, p + "self_attn.k_proj", kv_dim, c.hidden_size, c.attention_bias),
          Linear::load(ckpt, quant, p + "self_attn.v_proj", kv_dim, c.hidden_size, c.attention_bias),
          Linear::load(ckpt, quant, p + "self_attn.o_proj", c.hidden_size, q_dim, false),
          Linear::load(ckpt, quant, p + "mlp.gate_proj", c.intermediate_size, c.hidden_size, false),
          Linear::load(ckpt, quant, p + "mlp.up_proj", c.intermediate_size, c.hidden_size, false),
          Linear::load(ckpt, quant, p + "mlp.down_proj", c.hidden_size, c.intermediate_size, false)});
    }
    final_norm_ = load_vector(ckpt, "model.norm.weight", c.hidden_size);
    lm_head_ = load_lm_head(ckpt, quant, embed_, c.hidden_size);
  }

 private:
  void embed(const int32_t* tokens, int64_t n, float* x) override {
    // The embedding matrix is a Linear [vocab, hidden] so that the tied
    // lm_head can share it; a token's embedding is one of its rows.
    for (int64_t t = 0; t < n; ++t) embed_.row(tokens[t], x + t * config_.hidden_size);
  }

  void head(const float* x, int64_t n, float* logits, bool all_logits) override {
    const ModelConfig& c = config_;
    const int64_t H = c.hidden_size, first = all_logits ? 0 : n - 1;
    std::vector<float> h(size_t((n - first) * H));
    for (int64_t t = first; t < n; ++t)
      ops::rms_norm(x + t * H, final_norm_.data(), H, c.rms_norm_eps, h.data() + (t - first) * H);
    lm_head_.forward(h.data(), n - first, logits, pool_);
  }

  void layer_forward(size_t index, float* x, int64_t n) override {
    const Layer& l = layers_[index];
    const ModelConfig& c = config_;
    const int64_t H = c.hidden_size, hd = c.head_dim;
    const int64_t q_dim = c.num_heads * hd, kv_dim = c.num_kv_heads * hd;
    std::vector<float> h(size_t(n * H)), q(size_t(n * q_dim)), k(size_t(n * kv_dim)),
        v(size_t(n * kv_dim)), attn(size_t(n * q_dim)), o(size_t(n * H));
    for (int64_t t = 0; t < n; ++t)
      ops::rms_norm(x + t * H, l.input_norm.data(), H, c.rms_norm_eps, h.data() + t * H);
    l.q.forward(h.data(), n, q.data(), pool_);
    l.k.forward(h.data(), n, k.data(), pool_);
    l.v.forward(h.data(), n, v.data(), pool_);
    for (int64_t t = 0; t < n; ++t) {
      ops::rope(q.data() + t * q_dim, c.num_heads, hd, pos_ + t, c.rope_theta);
      ops::rope(k.data() + t * kv_dim, c.num_kv_heads, hd, pos_ + t, c.rope_theta);
    }
    cached_attention(index, q.data(), k.data(), v.data(), n, 1.0f / std::sqrt(float(hd)), attn.data());
    l.o.forward(attn.data(), n, o.data(), pool_);
    for (int64_t i = 0; i < n * H; ++i) x[i] += o[size_t(i)];

    const int64_t I = c.intermediate_size;
    std::vector<float> gate(size_t(n * I)), up(size_t(n * I)), down(size_t(n * H));
    for (int64_t t = 0; t < n; ++t)
      ops::rms_norm(x + t * H, l.post_norm.data(), H, c.rms_norm_eps, h.data() + t * H);
    l.gate.forward(h.data(), n, gate.data(), pool_);
    l.up.forward(h.data(), n, up.data(), pool_);
    for (int64_t i = 0; i < n * I; ++i) gate[size_t(i)] = ops::silu(gate[size_t(i)]) * up[size_t(i)];
    l.down.forward(gate.data(), n, down.data(), pool_);
    for (int64_t i = 0; i < n * H; ++i) x[i] += down[size_t(i)];
  }

  Linear embed_, lm_head_;
  std::vector<Layer> layers_;
  std::vector<float> final_norm_;
};

}  // namespace

std::unique_ptr<CausalLM> make_llama(const CheckpointReader& ckpt, int64_t context) {
  return std::make_unique<Llama>(ckpt, context);
}

}  // namespace wquant
