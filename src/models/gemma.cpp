// Gemma text models: gemma (1), gemma2 and gemma3_text. Llama-named layers
// (llama.cpp) with:
//   * RMSNorm scaling by 1 + w (the files store w; loaded as w + 1);
//   * embeddings multiplied by sqrt(hidden) (in f32), lm_head tied;
//   * GeGLU: gelu_pytorch_tanh on the gate (hidden_activation / hidden_act);
//   * gemma2, gemma3: "sandwich" norms (post_attention_layernorm after the
//     attention output, pre_ / post_feedforward_layernorm around the MLP),
//     attention scale query_pre_attn_scalar^-0.5, sliding-window layers
//     (layer_types; older configs: gemma2 every other layer from the first,
//     gemma3 five of every six), optional soft-capping of attention scores
//     and of the logits (gemma2: 50 and 30);
//   * gemma3: q_norm / k_norm per head, and a rotary base per layer type
//     (rope_parameters.{sliding,full}_attention; older configs:
//     rope_local_base_freq for sliding layers, rope_theta for full ones).
//
// Hugging Face tensor names (N = layer), beside llama's:
//   model.layers.N.pre_feedforward_layernorm.weight    [hidden]   (2, 3)
//   model.layers.N.post_feedforward_layernorm.weight   [hidden]   (2, 3)
//   model.layers.N.self_attn.{q,k}_norm.weight         [head_dim] (3)
#include "gemma.h"

#include <cmath>

#include "rotary_decoder.h"
#include "wquant/core/error.h"
#include "wquant/io/json_number.h"

namespace wquant {
namespace {

enum class Version { Gemma1, Gemma2, Gemma3 };

Version version_of(const std::string& model_type) {
  if (model_type == "gemma2") return Version::Gemma2;
  if (model_type == "gemma3_text") return Version::Gemma3;
  return Version::Gemma1;
}

RotaryOptions options_of(const nlohmann::json& j, const ModelConfig& c, Version v, const std::string& where) {
  RotaryOptions o;
  const std::string act = j.contains("hidden_activation") && j["hidden_activation"].is_string()
                              ? j["hidden_activation"].get<std::string>()
                              : j.value("hidden_act", std::string("gelu_pytorch_tanh"));
  o.act = ops::activation_from_name(act, where + ": config key 'hidden_activation'");
  o.embed_scale = float(std::sqrt(double(c.hidden_size)));
  if (v != Version::Gemma1) {
    const float scalar = json_float_or(j, "query_pre_attn_scalar", float(c.head_dim), where + ": config key");
    if (!(scalar > 0)) fail(where, ": config key 'query_pre_attn_scalar' is ", scalar, ", expected > 0");
    o.attn_scale = float(std::pow(double(scalar), -0.5));
    o.attn_softcap = json_float_or(j, "attn_logit_softcapping", 0.0f, where + ": config key");
    o.final_softcap = json_float_or(j, "final_logit_softcapping", 0.0f, where + ": config key");
    if (o.attn_softcap < 0 || o.final_softcap < 0)
      fail(where, ": config: a negative logit soft-cap (", o.attn_softcap, ", ", o.final_softcap, ")");
  }
  return o;
}

ModelConfig config_of(const CheckpointReader& ckpt) {
  ModelConfig c = llama_config_from_json(ckpt.config(), ckpt.path());
  c.tie_word_embeddings = ckpt.config().value("tie_word_embeddings", true);
  return c;
}

class Gemma : public RotaryDecoder {
 public:
  Gemma(const CheckpointReader& ckpt, int64_t context, Version v, const ModelConfig& config)
      : RotaryDecoder(config, options_of(ckpt.config(), config, v, ckpt.path()), context) {
    const ModelConfig& c = config_;
    const nlohmann::json& j = ckpt.config();
    const std::string& where = ckpt.path();
    const int64_t H = c.hidden_size;
    // Rotary bases: one for full-attention layers, one for sliding ones.
    float full_theta = c.rope_theta, sliding_theta = c.rope_theta;
    const auto params = j.find("rope_parameters");
    if (v == Version::Gemma3 && params != j.end() && params->is_object() &&
        params->contains("full_attention")) {
      full_theta = default_rope_theta((*params)["full_attention"], 1e6f, where);
      sliding_theta = default_rope_theta(params->value("sliding_attention", nlohmann::json()), 1e4f, where);
    } else {
      check_default_rope(j, where);
      if (v == Version::Gemma3)
        sliding_theta = json_float_or(j, "rope_local_base_freq", 1e4f, where + ": config key");
    }
    std::vector<bool> sliding(size_t(c.num_layers), false);
    if (v == Version::Gemma2)
      sliding = sliding_layers(j, c.num_layers, [](int64_t i) { return i % 2 == 0; }, where);
    if (v == Version::Gemma3)
      sliding = sliding_layers(j, c.num_layers, [](int64_t i) { return (i + 1) % 6 != 0; }, where);
    const int64_t window = json_int_or(j, "sliding_window", 4096, 1, INT32_MAX, where + ": config key");

    const QuantizationInfo quant(j, where);
    embed_ = Linear::load(ckpt, quant, "model.embed_tokens", c.vocab_size, H, false);
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      RotaryLayer l = load_llama_named_layer(ckpt, quant, c, p, /*norm_add=*/1);
      if (v == Version::Gemma1) {
        l.ffn_norm = load_norm(ckpt, p + "post_attention_layernorm.weight", H, 1);
      } else {
        l.attn_out_norm = load_norm(ckpt, p + "post_attention_layernorm.weight", H, 1);
        l.ffn_norm = load_norm(ckpt, p + "pre_feedforward_layernorm.weight", H, 1);
        l.ffn_out_norm = load_norm(ckpt, p + "post_feedforward_layernorm.weight", H, 1);
      }
      if (v == Version::Gemma3) {
        l.q_norm = load_norm(ckpt, p + "self_attn.q_norm.weight", c.head_dim, 1);
        l.k_norm = load_norm(ckpt, p + "self_attn.k_norm.weight", c.head_dim, 1);
      }
      l.rope_theta = sliding[size_t(i)] ? sliding_theta : full_theta;
      l.window = sliding[size_t(i)] ? window : 0;
      layers_.push_back(std::move(l));
    }
    final_norm_ = load_norm(ckpt, "model.norm.weight", H, 1);
    lm_head_ = load_lm_head(ckpt, quant, embed_, H);
  }
};

}  // namespace

std::unique_ptr<CausalLM> make_gemma(const CheckpointReader& ckpt, int64_t context) {
  return std::make_unique<Gemma>(ckpt, context, version_of(ckpt.model_type()), config_of(ckpt));
}

}  // namespace wquant
