// Qwen3: the llama layer (llama.cpp) without q/k/v biases, plus an RMSNorm
// of each query and key head (q_norm, k_norm over head_dim) before rotary.
// head_dim is given by the config (128 in the released models), not
// hidden / heads. Sliding-window layers (use_sliding_window) follow the
// config's layer_types.
//
// Hugging Face tensor names (N = layer), beside llama's:
//   model.layers.N.self_attn.q_norm.weight   [head_dim]
//   model.layers.N.self_attn.k_norm.weight   [head_dim]
#include "qwen3.h"

#include "rotary_decoder.h"
#include "wquant/io/json_number.h"

namespace wquant {
namespace {

class Qwen3 : public RotaryDecoder {
 public:
  Qwen3(const CheckpointReader& ckpt, int64_t context)
      : RotaryDecoder(llama_config_from_json(ckpt.config(), ckpt.path()), {}, context) {
    const ModelConfig& c = config_;
    const nlohmann::json& j = ckpt.config();
    check_default_rope(j, ckpt.path());
    const auto sliding = sliding_layers(j, c.num_layers, [](int64_t) { return false; }, ckpt.path());
    const int64_t window = json_int_or(j, "sliding_window", 0, 0, INT32_MAX, ckpt.path() + ": config key");
    const QuantizationInfo quant(j, ckpt.path());
    embed_ = Linear::load(ckpt, quant, "model.embed_tokens", c.vocab_size, c.hidden_size, false);
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      RotaryLayer l = load_llama_named_layer(ckpt, quant, c, p);
      l.ffn_norm = load_norm(ckpt, p + "post_attention_layernorm.weight", c.hidden_size);
      l.q_norm = load_norm(ckpt, p + "self_attn.q_norm.weight", c.head_dim);
      l.k_norm = load_norm(ckpt, p + "self_attn.k_norm.weight", c.head_dim);
      l.window = sliding[size_t(i)] ? window : 0;
      layers_.push_back(std::move(l));
    }
    final_norm_ = load_norm(ckpt, "model.norm.weight", c.hidden_size);
    lm_head_ = load_lm_head(ckpt, quant, embed_, c.hidden_size);
  }
};

}  // namespace

std::unique_ptr<CausalLM> make_qwen3(const CheckpointReader& ckpt, int64_t context) {
  return std::make_unique<Qwen3>(ckpt, context);
}

}  // namespace wquant
