// Phi-3 (and Phi-3.5 / Phi-4-mini, same model_type): the llama layer with
// fused projections, rotary on the first partial_rotary_factor of each head
// (Phi-4-mini: 0.75), and every layer's attention within sliding_window keys
// when the config sets one (Phi-3-mini-4k: 2047). The long-context
// "longrope" variants (128k) are refused by default_rope_theta.
//
// Hugging Face tensor names (N = layer):
//   model.embed_tokens.weight                      [vocab, hidden]
//   model.layers.N.input_layernorm.weight          [hidden]
//   model.layers.N.self_attn.qkv_proj.weight       [(heads + 2 kv_heads) * hd, hidden]: q | k | v rows
//   model.layers.N.self_attn.o_proj.weight         [hidden, heads * hd]
//   model.layers.N.post_attention_layernorm.weight [hidden]
//   model.layers.N.mlp.gate_up_proj.weight         [2 intermediate, hidden]: gate | up rows
//   model.layers.N.mlp.down_proj.weight            [hidden, intermediate]
//   model.norm.weight, lm_head.weight
#include "phi3.h"

#include <cmath>

#include "rotary_decoder.h"
#include "wquant/core/error.h"
#include "wquant/io/json_number.h"

namespace wquant {
namespace {

RotaryOptions options_of(const nlohmann::json& j, const ModelConfig& c, const std::string& where) {
  RotaryOptions o;
  o.act = ops::activation_from_name(j.value("hidden_act", std::string("silu")), where + ": config key 'hidden_act'");
  float factor = json_float_or(j, "partial_rotary_factor", 1.0f, where + ": config key");
  if (const auto it = j.find("rope_parameters"); it != j.end() && it->is_object())
    factor = json_float_or(*it, "partial_rotary_factor", factor, where + ": config key rope_parameters");
  if (!(factor > 0 && factor <= 1)) fail(where, ": partial_rotary_factor ", factor, ", expected (0, 1]");
  o.rotary_dim = int64_t(float(c.head_dim) * factor);  // transformers: int(head_dim * factor)
  if (o.rotary_dim < 2 || o.rotary_dim % 2 != 0)
    fail(where, ": rotary dimension ", o.rotary_dim, " (head_dim ", c.head_dim, " x partial_rotary_factor ",
         factor, ") is not a positive even number");
  return o;
}

class Phi3 : public RotaryDecoder {
 public:
  Phi3(const CheckpointReader& ckpt, int64_t context, const ModelConfig& config)
      : RotaryDecoder(config, options_of(ckpt.config(), config, ckpt.path()), context) {
    const ModelConfig& c = config_;
    const nlohmann::json& j = ckpt.config();
    check_default_rope(j, ckpt.path());
    const int64_t window = json_int_or(j, "sliding_window", 0, 0, INT32_MAX, ckpt.path() + ": config key");
    const QuantizationInfo quant(j, ckpt.path());
    const int64_t H = c.hidden_size, I = c.intermediate_size;
    const int64_t q_dim = c.num_heads * c.head_dim, kv_dim = c.num_kv_heads * c.head_dim;
    embed_ = Linear::load(ckpt, quant, "model.embed_tokens", c.vocab_size, H, false);
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      RotaryLayer l;
      l.attn_norm = load_norm(ckpt, p + "input_layernorm.weight", H);
      l.ffn_norm = load_norm(ckpt, p + "post_attention_layernorm.weight", H);
      l.qkv = Linear::load(ckpt, quant, p + "self_attn.qkv_proj", q_dim + 2 * kv_dim, H, false);
      l.o = Linear::load(ckpt, quant, p + "self_attn.o_proj", H, q_dim, false);
      l.gate_up = Linear::load(ckpt, quant, p + "mlp.gate_up_proj", 2 * I, H, false);
      l.down = Linear::load(ckpt, quant, p + "mlp.down_proj", H, I, false);
      l.rope_theta = c.rope_theta;
      l.window = window;
      layers_.push_back(std::move(l));
    }
    final_norm_ = load_norm(ckpt, "model.norm.weight", H);
    lm_head_ = load_lm_head(ckpt, quant, embed_, H);
  }
};

}  // namespace

std::unique_ptr<CausalLM> make_phi3(const CheckpointReader& ckpt, int64_t context) {
  return std::make_unique<Phi3>(ckpt, context, llama_config_from_json(ckpt.config(), ckpt.path()));
}

}  // namespace wquant
