// OPT (model_type "opt"): learned position embeddings offset by 2, layers of
// causal multi-head attention and a ReLU MLP, LayerNorm before each block
// (opt-125m, 1.3b, ...) or after it (opt-350m: do_layer_norm_before false);
// opt-350m also embeds tokens narrower than the decoder (word_embed_proj_dim
// 512 vs hidden 1024) and projects in and out around the layers.
//
// Hugging Face tensor names (N = layer; OPTForCausalLM writes "model.decoder.",
// a bare OPTModel "decoder."):
//   decoder.embed_tokens.weight                     [vocab, proj]
//   decoder.embed_positions.weight                  [max_positions + 2, hidden]
//   decoder.project_in.weight                       [hidden, proj]   (proj != hidden)
//   decoder.layers.N.self_attn.{q,k,v,out}_proj.{weight,bias}  [hidden, hidden], [hidden]
//   decoder.layers.N.self_attn_layer_norm.{weight,bias}        [hidden]
//   decoder.layers.N.fc1.{weight,bias}              [ffn, hidden], [ffn]
//   decoder.layers.N.fc2.{weight,bias}              [hidden, ffn], [hidden]
//   decoder.layers.N.final_layer_norm.{weight,bias} [hidden]
//   decoder.final_layer_norm.{weight,bias}          [hidden]  (pre-LN models only)
//   decoder.project_out.weight                      [proj, hidden]   (proj != hidden)
//   lm_head.weight                                  [vocab, proj]  (absent when tied)
#include <cmath>
#include <optional>

#include "wquant/core/error.h"
#include "wquant/models/linear.h"
#include "wquant/models/ops.h"
#include "decoder_base.h"
#include "opt.h"

namespace wquant {
namespace {

// transformers' OPTLearnedPositionalEmbedding reads row position + 2.
constexpr int64_t kPositionOffset = 2;

ModelConfig opt_config_from_json(const nlohmann::json& c, const std::string& where) try {
  if (!c.is_object()) fail(where, ": config is not a JSON object");
  ModelConfig m;
  m.model_type = c.value("model_type", "");
  m.hidden_size = config_positive_int(c, "hidden_size", where);
  m.intermediate_size = config_positive_int(c, "ffn_dim", where);
  m.num_layers = config_positive_int(c, "num_hidden_layers", where);
  m.num_heads = config_positive_int(c, "num_attention_heads", where);
  m.num_kv_heads = m.num_heads;
  m.vocab_size = config_positive_int(c, "vocab_size", where);
  m.max_positions = config_positive_int(c, "max_position_embeddings", where);
  m.layer_norm_eps = 1e-5f;  // torch.nn.LayerNorm's default; OPT's config has no field
  m.tie_word_embeddings = c.value("tie_word_embeddings", true);
  m.bos_token_id = config_token_id(c, "bos_token_id", where);
  m.eos_token_id = config_token_id(c, "eos_token_id", where);
  if (m.hidden_size % m.num_heads != 0)
    fail(where, ": hidden_size ", m.hidden_size, " is not a multiple of num_attention_heads ",
         m.num_heads);
  m.head_dim = m.hidden_size / m.num_heads;
  return m;
} catch (const nlohmann::json::exception& e) {  // a value of the wrong JSON type
  fail(where, ": config: unexpected content: ", e.what());
}

struct Layer {
  Linear q, k, v, out;
  LayerNormWeights attn_norm;
  Linear fc1, fc2;
  LayerNormWeights mlp_norm;
};

class Opt : public DecoderBase {
 public:
  Opt(const CheckpointReader& ckpt, int64_t context)
      : DecoderBase(opt_config_from_json(ckpt.config(), ckpt.path()), context) {
    const ModelConfig& c = config_;
    const nlohmann::json& json = ckpt.config();
    act_ = ops::activation_from_name(json.value("activation_function", "relu"), ckpt.path());
    pre_norm_ = json.value("do_layer_norm_before", true);
    const bool bias = json.value("enable_bias", true);
    const bool affine = json.value("layer_norm_elementwise_affine", true);
    const int64_t H = c.hidden_size, I = c.intermediate_size;
    proj_dim_ = json.contains("word_embed_proj_dim") && !json["word_embed_proj_dim"].is_null()
                    ? config_positive_int(json, "word_embed_proj_dim", ckpt.path())
                    : H;
    const QuantizationInfo quant(json, ckpt.path());
    const std::string p =
        has_weight(ckpt, "model.decoder.embed_tokens") ? "model.decoder." : "decoder.";
    embed_tokens_ = Linear::load(ckpt, quant, p + "embed_tokens", c.vocab_size, proj_dim_, false);
    embed_positions_ = Linear::load(ckpt, quant, p + "embed_positions",
                                    c.max_positions + kPositionOffset, H, false);
    if (proj_dim_ != H) {
      project_in_ = Linear::load(ckpt, quant, p + "project_in", H, proj_dim_, false);
      project_out_ = Linear::load(ckpt, quant, p + "project_out", proj_dim_, H, false);
    }
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string l = p + "layers." + std::to_string(i) + ".";
      layers_.push_back(Layer{Linear::load(ckpt, quant, l + "self_attn.q_proj", H, H, bias),
                              Linear::load(ckpt, quant, l + "self_attn.k_proj", H, H, bias),
                              Linear::load(ckpt, quant, l + "self_attn.v_proj", H, H, bias),
                              Linear::load(ckpt, quant, l + "self_attn.out_proj", H, H, bias),
                              load_layer_norm(ckpt, l + "self_attn_layer_norm", H, affine),
                              Linear::load(ckpt, quant, l + "fc1", I, H, bias),
                              Linear::load(ckpt, quant, l + "fc2", H, I, bias),
                              load_layer_norm(ckpt, l + "final_layer_norm", H, affine)});
    }
    if (pre_norm_ && !json.value("_remove_final_layer_norm", false))
      final_norm_ = load_layer_norm(ckpt, p + "final_layer_norm", H, affine);
    lm_head_ = load_lm_head(ckpt, quant, embed_tokens_, proj_dim_);
  }

 private:
  void embed(const int32_t* tokens, int64_t n, float* x) override {
    const int64_t H = config_.hidden_size, P = proj_dim_;
    std::vector<float> e(size_t(n * P)), position(static_cast<size_t>(H));
    for (int64_t t = 0; t < n; ++t) embed_tokens_.row(tokens[t], e.data() + t * P);
    if (project_in_)
      project_in_->forward(e.data(), n, x, pool_);
    else
      std::copy(e.begin(), e.end(), x);
    for (int64_t t = 0; t < n; ++t) {
      embed_positions_.row(pos_ + t + kPositionOffset, position.data());
      for (int64_t i = 0; i < H; ++i) x[t * H + i] += position[size_t(i)];
    }
  }

  void head(const float* x, int64_t n, float* logits, bool all_logits) override {
    const int64_t H = config_.hidden_size, P = proj_dim_;
    const int64_t first = all_logits ? 0 : n - 1, m = n - first;
    std::vector<float> h(x + first * H, x + n * H);
    if (final_norm_)
      for (int64_t t = 0; t < m; ++t)
        final_norm_->apply(h.data() + t * H, H, config_.layer_norm_eps, h.data() + t * H);
    if (project_out_) {
      std::vector<float> projected(size_t(m * P));
      project_out_->forward(h.data(), m, projected.data(), pool_);
      h.swap(projected);
    }
    lm_head_.forward(h.data(), m, logits, pool_);
  }

  // x [n, hidden] in place. Pre-LN: x += Attn(LN(x)); x += MLP(LN(x)).
  // Post-LN (opt-350m): x = LN(x + Attn(x)); x = LN(x + MLP(x)).
  void layer_forward(size_t index, float* x, int64_t n) override {
    const ModelConfig& c = config_;
    const Layer& l = layers_[index];
    const int64_t H = c.hidden_size, I = c.intermediate_size, hd = c.head_dim;
    const float eps = c.layer_norm_eps;
    std::vector<float> h(x, x + n * H), q(size_t(n * H)), k(size_t(n * H)), v(size_t(n * H)),
        attn(size_t(n * H)), o(size_t(n * H));
    if (pre_norm_)
      for (int64_t t = 0; t < n; ++t) l.attn_norm.apply(h.data() + t * H, H, eps, h.data() + t * H);
    l.q.forward(h.data(), n, q.data(), pool_);
    l.k.forward(h.data(), n, k.data(), pool_);
    l.v.forward(h.data(), n, v.data(), pool_);
    // transformers scales the query projection (bias included) by
    // head_dim^-0.5, then attends with scale 1: same order here.
    const float scaling = 1.0f / std::sqrt(float(hd));
    for (float& value : q) value *= scaling;
    cached_attention(index, q.data(), k.data(), v.data(), n, 1.0f, attn.data());
    l.out.forward(attn.data(), n, o.data(), pool_);
    for (int64_t i = 0; i < n * H; ++i) x[i] += o[size_t(i)];
    if (!pre_norm_)
      for (int64_t t = 0; t < n; ++t) l.attn_norm.apply(x + t * H, H, eps, x + t * H);

    h.assign(x, x + n * H);
    if (pre_norm_)
      for (int64_t t = 0; t < n; ++t) l.mlp_norm.apply(h.data() + t * H, H, eps, h.data() + t * H);
    std::vector<float> mid(size_t(n * I));
    l.fc1.forward(h.data(), n, mid.data(), pool_);
    ops::activate(act_, mid.data(), n * I);
    l.fc2.forward(mid.data(), n, o.data(), pool_);
    for (int64_t i = 0; i < n * H; ++i) x[i] += o[size_t(i)];
    if (!pre_norm_)
      for (int64_t t = 0; t < n; ++t) l.mlp_norm.apply(x + t * H, H, eps, x + t * H);
  }

  ops::Activation act_ = ops::Activation::Relu;
  bool pre_norm_ = true;
  int64_t proj_dim_ = 0;  // word_embed_proj_dim
  Linear embed_tokens_, embed_positions_, lm_head_;
  std::optional<Linear> project_in_, project_out_;
  std::vector<Layer> layers_;
  std::optional<LayerNormWeights> final_norm_;
};

}  // namespace

std::unique_ptr<CausalLM> make_opt(const CheckpointReader& ckpt, int64_t context) {
  return std::make_unique<Opt>(ckpt, context);
}

}  // namespace wquant
