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
#include "llama.h"

namespace wquant {
namespace {

struct Layer {
  std::vector<float> input_norm, post_norm;
  Linear q, k, v, o, gate, up, down;
  std::vector<float> k_cache, v_cache;  // [position, kv_heads * head_dim]
};

std::vector<float> norm_weight(const CheckpointReader& ckpt, const std::string& name, int64_t n) {
  const TensorInfo& info = ckpt.info(name);
  if (info.shape != Shape{n})
    fail(ckpt.path(), ": tensor ", name, " has shape ", shape_str(info.shape), ", expected [", n, "]");
  return ckpt.read_f32(name);
}

class Llama : public CausalLM {
 public:
  Llama(const CheckpointReader& ckpt, int64_t context)
      : config_(llama_config_from_json(ckpt.config(), ckpt.path())) {
    const ModelConfig& c = config_;
    context_ = context > 0 ? std::min(context, c.max_positions) : c.max_positions;
    const QuantizationInfo quant(ckpt.config(), ckpt.path());
    const int64_t q_dim = c.num_heads * c.head_dim, kv_dim = c.num_kv_heads * c.head_dim;
    embed_ = Linear::load(ckpt, quant, "model.embed_tokens", c.vocab_size, c.hidden_size, false);
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      Layer l{norm_weight(ckpt, p + "input_layernorm.weight", c.hidden_size),
              norm_weight(ckpt, p + "post_attention_layernorm.weight", c.hidden_size),
              Linear::load(ckpt, quant, p + "self_attn.q_proj", q_dim, c.hidden_size, c.attention_bias),
              Linear::load(ckpt, quant, p + "self_attn.k_proj", kv_dim, c.hidden_size, c.attention_bias),
              Linear::load(ckpt, quant, p + "self_attn.v_proj", kv_dim, c.hidden_size, c.attention_bias),
              Linear::load(ckpt, quant, p + "self_attn.o_proj", c.hidden_size, q_dim, false),
              Linear::load(ckpt, quant, p + "mlp.gate_proj", c.intermediate_size, c.hidden_size, false),
              Linear::load(ckpt, quant, p + "mlp.up_proj", c.intermediate_size, c.hidden_size, false),
              Linear::load(ckpt, quant, p + "mlp.down_proj", c.hidden_size, c.intermediate_size, false),
              {}, {}};
      layers_.push_back(std::move(l));
    }
    final_norm_ = norm_weight(ckpt, "model.norm.weight", c.hidden_size);
    const bool has_head = ckpt.tensors().end() !=
        std::find_if(ckpt.tensors().begin(), ckpt.tensors().end(), [](const TensorInfo& t) {
          return t.name.rfind("lm_head.", 0) == 0;
        });
    if (has_head)
      lm_head_ = Linear::load(ckpt, quant, "lm_head", c.vocab_size, c.hidden_size, false);
    else if (c.tie_word_embeddings)
      lm_head_ = embed_;
    else
      fail(ckpt.path(), ": no lm_head.weight and tie_word_embeddings is false");
  }

  const ModelConfig& config() const override { return config_; }
  int64_t position() const override { return pos_; }
  int64_t context_length() const override { return context_; }
  void reset() override {
    pos_ = 0;
    for (auto& l : layers_) l.k_cache.clear(), l.v_cache.clear();
  }

  void forward(const int32_t* tokens, int64_t n, float* logits, bool all_logits) override {
    const ModelConfig& c = config_;
    if (n <= 0) fail("forward: no tokens");
    if (pos_ + n > context_)
      fail("forward: ", pos_, " cached + ", n, " new tokens exceed the context of ", context_);
    const int64_t H = c.hidden_size;
    std::vector<float> x(size_t(n * H));
    for (int64_t t = 0; t < n; ++t) {
      if (tokens[t] < 0 || tokens[t] >= c.vocab_size)
        fail("forward: token id ", tokens[t], " outside the vocabulary of ", c.vocab_size);
      embedding_row(tokens[t], x.data() + t * H);
    }
    for (auto& l : layers_) layer_forward(l, x.data(), n);
    std::vector<float> h(size_t(n * H));
    for (int64_t t = 0; t < n; ++t)
      ops::rms_norm(x.data() + t * H, final_norm_.data(), H, c.rms_norm_eps, h.data() + t * H);
    if (all_logits) {
      lm_head_.forward(h.data(), n, logits, pool_);
    } else {
      lm_head_.forward(h.data() + (n - 1) * H, 1, logits, pool_);
    }
    pos_ += n;
  }

 private:
  // The embedding matrix is a Linear [vocab, hidden] so that the tied
  // lm_head can share it; a token's embedding is one of its rows.
  void embedding_row(int32_t id, float* out) const { embed_.row(id, out); }

  void layer_forward(Layer& l, float* x, int64_t n) {
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
    l.k_cache.insert(l.k_cache.end(), k.begin(), k.end());
    l.v_cache.insert(l.v_cache.end(), v.begin(), v.end());
    attention(l, q.data(), n, attn.data());
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

  // Causal grouped-query attention of n new queries over the cache.
  void attention(const Layer& l, const float* q, int64_t n, float* out) const {
    const ModelConfig& c = config_;
    const int64_t hd = c.head_dim, kv_dim = c.num_kv_heads * hd, q_dim = c.num_heads * hd;
    const int64_t group = c.num_heads / c.num_kv_heads;
    const float scale = 1.0f / std::sqrt(float(hd));
    std::vector<float> scores;
    for (int64_t t = 0; t < n; ++t) {
      const int64_t len = pos_ + t + 1;  // causal: keys up to this query's position
      for (int64_t h = 0; h < c.num_heads; ++h) {
        const int64_t kvh = h / group;  // grouped-query: heads share a key/value head
        ops::attend(q + t * q_dim + h * hd, l.k_cache.data() + kvh * hd,
                    l.v_cache.data() + kvh * hd, len, kv_dim, hd, scale, scores,
                    out + t * q_dim + h * hd);
      }
    }
  }

  ModelConfig config_;
  ThreadPool pool_;  // hardware_concurrency threads for the linear layers
  int64_t context_ = 0;
  int64_t pos_ = 0;
  Linear embed_, lm_head_;
  std::vector<Layer> layers_;
  std::vector<float> final_norm_;
};

}  // namespace

std::unique_ptr<CausalLM> make_llama(const CheckpointReader& ckpt, int64_t context) {
  return std::make_unique<Llama>(ckpt, context);
}

}  // namespace wquant
