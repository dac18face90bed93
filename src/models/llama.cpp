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
#include "llama.h"

#include "rotary_decoder.h"

namespace wquant {
namespace {

class Llama : public RotaryDecoder {
 public:
  Llama(const CheckpointReader& ckpt, int64_t context)
      : RotaryDecoder(llama_config_from_json(ckpt.config(), ckpt.path()), {}, context) {
    const ModelConfig& c = config_;
    check_default_rope(ckpt.config(), ckpt.path());
    const QuantizationInfo quant(ckpt.config(), ckpt.path());
    embed_ = Linear::load(ckpt, quant, "model.embed_tokens", c.vocab_size, c.hidden_size, false);
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      layers_.push_back(load_llama_named_layer(ckpt, quant, c, p));
      layers_.back().ffn_norm = load_norm(ckpt, p + "post_attention_layernorm.weight", c.hidden_size);
    }
    final_norm_ = load_norm(ckpt, "model.norm.weight", c.hidden_size);
    lm_head_ = load_lm_head(ckpt, quant, embed_, c.hidden_size);
  }
};

}  // namespace

std::unique_ptr<CausalLM> make_llama(const CheckpointReader& ckpt, int64_t context) {
  return std::make_unique<Llama>(ckpt, context);
}

}  // namespace wquant
