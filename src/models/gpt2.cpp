// GPT-2 (model_type "gpt2"): learned absolute position embeddings, pre-LayerNorm
// layers of causal multi-head attention with a fused q/k/v projection and a
// GELU (tanh form, "gelu_new") MLP; lm_head tied to the token embeddings.
// Its linear layers are Conv1D modules whose float weights are stored
// [in, out] (wquant's quantized output stores them [out, in]).
//
// Hugging Face tensor names (N = layer; GPT2LMHeadModel prefixes every name
// with "transformer.", a bare GPT2Model such as the original "gpt2" does not):
//   wte.weight                          [vocab, n_embd]
//   wpe.weight                          [n_positions, n_embd]
//   h.N.ln_1.{weight,bias}              [n_embd]
//   h.N.attn.c_attn.{weight,bias}       [n_embd, 3 n_embd], [3 n_embd]  (q | k | v)
//   h.N.attn.c_proj.{weight,bias}       [n_embd, n_embd], [n_embd]
//   h.N.ln_2.{weight,bias}              [n_embd]
//   h.N.mlp.c_fc.{weight,bias}          [n_embd, n_inner], [n_inner]
//   h.N.mlp.c_proj.{weight,bias}        [n_inner, n_embd], [n_embd]
//   ln_f.{weight,bias}                  [n_embd]
//   lm_head.weight                      [vocab, n_embd] (absent when tied)
#include <cmath>

#include "wquant/core/error.h"
#include "wquant/models/linear.h"
#include "wquant/models/ops.h"
#include "decoder_base.h"
#include "gpt2.h"

namespace wquant {
namespace {

ModelConfig gpt2_config_from_json(const nlohmann::json& c, const std::string& where) try {
  ModelConfig m = gpt_style_config_from_json(c, where, /*tied_by_default=*/true);
  if (c.value("reorder_and_upcast_attn", false))
    fail(where, ": reorder_and_upcast_attn is not supported");
  return m;
} catch (const nlohmann::json::exception& e) {  // a value of the wrong JSON type
  fail(where, ": config: unexpected content: ", e.what());
}

struct Layer {
  LayerNormWeights ln_1;
  Linear c_attn, attn_proj;
  LayerNormWeights ln_2;
  Linear c_fc, mlp_proj;
};

class Gpt2 : public DecoderBase {
 public:
  Gpt2(const CheckpointReader& ckpt, int64_t context)
      : DecoderBase(gpt2_config_from_json(ckpt.config(), ckpt.path()), context) {
    const ModelConfig& c = config_;
    const nlohmann::json& json = ckpt.config();
    act_ = ops::activation_from_name(json.value("activation_function", "gelu_new"), ckpt.path());
    scale_by_layer_ = json.value("scale_attn_by_inverse_layer_idx", false);
    scale_weights_ = json.value("scale_attn_weights", true);
    const QuantizationInfo quant(json, ckpt.path());
    const std::string p = has_weight(ckpt, "transformer.wte") ? "transformer." : "";
    const int64_t H = c.hidden_size, I = c.intermediate_size;
    const auto conv = WeightLayout::InOut;
    wte_ = Linear::load(ckpt, quant, p + "wte", c.vocab_size, H, false);
    wpe_ = Linear::load(ckpt, quant, p + "wpe", c.max_positions, H, false);
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string l = p + "h." + std::to_string(i) + ".";
      layers_.push_back(Layer{load_layer_norm(ckpt, l + "ln_1", H),
                              Linear::load(ckpt, quant, l + "attn.c_attn", 3 * H, H, true, conv),
                              Linear::load(ckpt, quant, l + "attn.c_proj", H, H, true, conv),
                              load_layer_norm(ckpt, l + "ln_2", H),
                              Linear::load(ckpt, quant, l + "mlp.c_fc", I, H, true, conv),
                              Linear::load(ckpt, quant, l + "mlp.c_proj", H, I, true, conv)});
    }
    ln_f_ = load_layer_norm(ckpt, p + "ln_f", H);
    lm_head_ = load_lm_head(ckpt, quant, wte_, H);
  }

 private:
  void embed(const int32_t* tokens, int64_t n, float* x) override {
    const int64_t H = config_.hidden_size;
    std::vector<float> position(static_cast<size_t>(H));
    for (int64_t t = 0; t < n; ++t) {
      wte_.row(tokens[t], x + t * H);
      wpe_.row(pos_ + t, position.data());
      for (int64_t i = 0; i < H; ++i) x[t * H + i] += position[size_t(i)];
    }
  }

  void head(const float* x, int64_t n, float* logits, bool all_logits) override {
    const int64_t H = config_.hidden_size, first = all_logits ? 0 : n - 1;
    std::vector<float> h(size_t((n - first) * H));
    for (int64_t t = first; t < n; ++t)
      ln_f_.apply(x + t * H, H, config_.layer_norm_eps, h.data() + (t - first) * H);
    lm_head_.forward(h.data(), n - first, logits, pool_);
  }

  void layer_forward(size_t index, float* x, int64_t n) override {
    const ModelConfig& c = config_;
    const Layer& l = layers_[index];
    const int64_t H = c.hidden_size, I = c.intermediate_size, hd = c.head_dim;
    std::vector<float> h(size_t(n * H)), qkv(size_t(n * 3 * H)), q(size_t(n * H)),
        k(size_t(n * H)), v(size_t(n * H)), attn(size_t(n * H)), o(size_t(n * H));
    for (int64_t t = 0; t < n; ++t) l.ln_1.apply(x + t * H, H, c.layer_norm_eps, h.data() + t * H);
    l.c_attn.forward(h.data(), n, qkv.data(), pool_);
    for (int64_t t = 0; t < n; ++t)  // c_attn's output is [q | k | v], each n_embd wide
      for (int64_t i = 0; i < H; ++i) {
        q[size_t(t * H + i)] = qkv[size_t(t * 3 * H + i)];
        k[size_t(t * H + i)] = qkv[size_t(t * 3 * H + H + i)];
        v[size_t(t * H + i)] = qkv[size_t(t * 3 * H + 2 * H + i)];
      }
    float scale = scale_weights_ ? 1.0f / std::sqrt(float(hd)) : 1.0f;
    if (scale_by_layer_) scale /= float(index + 1);
    cached_attention(index, q.data(), k.data(), v.data(), n, scale, attn.data());
    l.attn_proj.forward(attn.data(), n, o.data(), pool_);
    for (int64_t i = 0; i < n * H; ++i) x[i] += o[size_t(i)];

    std::vector<float> mid(size_t(n * I));
    for (int64_t t = 0; t < n; ++t) l.ln_2.apply(x + t * H, H, c.layer_norm_eps, h.data() + t * H);
    l.c_fc.forward(h.data(), n, mid.data(), pool_);
    ops::activate(act_, mid.data(), n * I);
    l.mlp_proj.forward(mid.data(), n, o.data(), pool_);
    for (int64_t i = 0; i < n * H; ++i) x[i] += o[size_t(i)];
  }

  ops::Activation act_ = ops::Activation::GeluTanh;
  bool scale_weights_ = true, scale_by_layer_ = false;
  Linear wte_, wpe_, lm_head_;
  std::vector<Layer> layers_;
  LayerNormWeights ln_f_;
};

}  // namespace

std::unique_ptr<CausalLM> make_gpt2(const CheckpointReader& ckpt, int64_t context) {
  return std::make_unique<Gpt2>(ckpt, context);
}

}  // namespace wquant
