// RotaryDecoder: the pre-norm decoder with rotary positions and a gated MLP
// that llama / mistral / qwen2 (llama.cpp), qwen3 (qwen3.cpp), gemma 1-3
// (gemma.cpp) and phi3 (phi3.cpp) share. Each architecture file reads its
// config and tensors into RotaryOptions and RotaryLayer; this file runs them.
// Internal to the models layer.
//
// One layer, x [n, hidden]:
//   h = RMSNorm_attn(x)
//   q, k, v = h Wq, h Wk, h Wv            (phi3: one fused qkv, split by rows)
//   q, k = per-head RMSNorm(q), (k)       (qwen3, gemma3: q_norm, k_norm)
//   q, k = rope on each head's first rotary_dim values (layer's own theta)
//   a = attention(q, k, v) Wo             (scale, soft-capped scores, sliding
//                                          window of the layer: gemma 2 / 3)
//   x += RMSNorm_attn_out(a) or a         (gemma 2 / 3's "sandwich" norms)
//   h = RMSNorm_ffn(x)
//   m = (act(h Wgate) * h Wup) Wdown      (phi3: one fused gate_up, gate first)
//   x += RMSNorm_ffn_out(m) or m
// then RMSNorm_final, lm_head and an optional soft-cap of the logits
// (gemma2). Gemma's RMSNorm scales by 1 + w: its files load w + 1.
#pragma once

#include <string>
#include <vector>

#include "decoder_base.h"
#include "wquant/models/ops.h"

namespace wquant {

struct RotaryOptions {
  ops::Activation act = ops::Activation::Silu;
  int64_t rotary_dim = 0;     // 0: the whole head
  float attn_scale = 0;       // 0: 1 / sqrt(head_dim)
  float attn_softcap = 0;     // > 0: scores soft-capped (gemma2)
  float final_softcap = 0;    // > 0: logits soft-capped (gemma2)
  float embed_scale = 1;      // gemma: sqrt(hidden), rounded to f32
};

struct RotaryLayer {
  // Norm weights [hidden] (q_norm, k_norm: [head_dim]); empty: not in this
  // architecture.
  std::vector<float> attn_norm, attn_out_norm, ffn_norm, ffn_out_norm, q_norm, k_norm;
  Linear qkv;                  // fused [q + 2 kv, hidden] (phi3); else empty
  Linear q, k, v, o;
  Linear gate_up;              // fused [2 intermediate, hidden] (phi3); else empty
  Linear gate, up, down;
  float rope_theta = 10000.0f;
  int64_t window = 0;          // sliding window in keys; 0: the whole context
};

class RotaryDecoder : public DecoderBase {
 protected:
  RotaryDecoder(ModelConfig config, RotaryOptions options, int64_t context)
      : DecoderBase(std::move(config), context), options_(options) {}

  void embed(const int32_t* tokens, int64_t n, float* x) override;
  void head(const float* x, int64_t n, float* logits, bool all_logits) override;
  void layer_forward(size_t index, float* x, int64_t n) override;

  // Filled by the architecture's constructor.
  RotaryOptions options_;
  Linear embed_, lm_head_;
  std::vector<RotaryLayer> layers_;
  std::vector<float> final_norm_;
};

// Returns the RMSNorm weight `name` [n] plus `add` (gemma's 1 + w: add = 1).
std::vector<float> load_norm(const CheckpointReader& ckpt, const std::string& name, int64_t n,
                             float add = 0);

// Loads what every llama-named layer under `prefix` ("model.layers.3.") has:
// self_attn.{q,k,v,o}_proj (q/k/v biases if c.attention_bias),
// mlp.{gate,up,down}_proj, and input_layernorm (+ norm_add) as attn_norm;
// rope_theta = c.rope_theta. The caller adds the other norms.
RotaryLayer load_llama_named_layer(const CheckpointReader& ckpt, const QuantizationInfo& quant,
                                   const ModelConfig& c, const std::string& prefix,
                                   float norm_add = 0);

// Returns each layer's attention type from config.json's "layer_types"
// ("full_attention" / "sliding_attention"), or `fallback(i)` for layer i when
// the config has no such list. Throws Error naming `where` for a list of the
// wrong length or an unknown type.
std::vector<bool> sliding_layers(const nlohmann::json& config, int64_t num_layers,
                                 bool (*fallback)(int64_t), const std::string& where);

// Returns rope_theta from a rope parameters object ({"rope_type": "default",
// "rope_theta": ...}) or `fallback` if it has none. Throws Error naming
// `where` for any rope_type but "default" (llama3, yarn, longrope, linear
// scaling are not implemented: running them unscaled would be silently wrong).
float default_rope_theta(const nlohmann::json& params, float fallback, const std::string& where);

// Checks config.json's "rope_scaling" and "rope_parameters" with
// default_rope_theta (either may be absent or null).
void check_default_rope(const nlohmann::json& config, const std::string& where);

}  // namespace wquant
