// CodeGen (model_type "codegen"; Salesforce codegen-350M-mono): GPT-J-style
// layers in which attention and MLP both read the same LayerNorm output and
// are added to the residual together (parallel blocks); a fused q/v/k
// projection split in 4 "model-parallel" chunks; rotary position embedding on
// the first rotary_dim values of each head, pairs interleaved
// (rotate_every_two); GELU (tanh form) MLP; untied lm_head with a bias.
//
// Hugging Face tensor names (N = layer; CodeGenForCausalLM writes
// "transformer.", a bare CodeGenModel no prefix):
//   wte.weight                        [vocab, n_embd]
//   h.N.ln_1.{weight,bias}            [n_embd]
//   h.N.attn.qkv_proj.weight          [3 n_embd, n_embd]
//   h.N.attn.out_proj.weight          [n_embd, n_embd]
//   h.N.mlp.fc_in.{weight,bias}       [n_inner, n_embd], [n_inner]
//   h.N.mlp.fc_out.{weight,bias}      [n_embd, n_inner], [n_embd]
//   ln_f.{weight,bias}                [n_embd]
//   lm_head.{weight,bias}             [vocab, n_embd], [vocab]
// (h.N.attn.causal_mask / masked_bias buffers in old checkpoints are unused.)
//
// qkv_proj's output, [3 n_embd], is 4 chunks of 3 n_embd / 4 values; chunk m
// holds [q | v | k] (that order), each n_embd / 4 wide, for heads
// m * heads / 4 .. (m + 1) * heads / 4 - 1.
#include <cmath>

#include "wquant/core/error.h"
#include "wquant/models/linear.h"
#include "wquant/models/ops.h"
#include "codegen.h"
#include "decoder_base.h"

namespace wquant {
namespace {

constexpr int64_t kChunks = 4;  // transformers' mp_num

ModelConfig codegen_config_from_json(const nlohmann::json& c, const std::string& where) try {
  ModelConfig m = gpt_style_config_from_json(c, where, /*tied_by_default=*/false);
  if (m.num_heads % kChunks != 0)
    fail(where, ": n_head ", m.num_heads, " is not a multiple of 4 (CodeGen's qkv chunks)");
  return m;
} catch (const nlohmann::json::exception& e) {  // a value of the wrong JSON type
  fail(where, ": config: unexpected content: ", e.what());
}

struct Layer {
  LayerNormWeights ln_1;
  Linear qkv, out, fc_in, fc_out;
};

class CodeGen : public DecoderBase {
 public:
  CodeGen(const CheckpointReader& ckpt, int64_t context)
      : DecoderBase(codegen_config_from_json(ckpt.config(), ckpt.path()), context) {
    const ModelConfig& c = config_;
    const nlohmann::json& json = ckpt.config();
    act_ = ops::activation_from_name(json.value("activation_function", "gelu_new"), ckpt.path());
    rotary_dim_ = config_positive_int(json, "rotary_dim", ckpt.path());
    if (rotary_dim_ > c.head_dim || rotary_dim_ % 2 != 0)
      fail(ckpt.path(), ": rotary_dim ", rotary_dim_, " must be even and at most the head size ",
           c.head_dim);
    const QuantizationInfo quant(json, ckpt.path());
    const std::string p = has_weight(ckpt, "transformer.wte") ? "transformer." : "";
    const int64_t H = c.hidden_size, I = c.intermediate_size;
    wte_ = Linear::load(ckpt, quant, p + "wte", c.vocab_size, H, false);
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string l = p + "h." + std::to_string(i) + ".";
      layers_.push_back(Layer{load_layer_norm(ckpt, l + "ln_1", H),
                              Linear::load(ckpt, quant, l + "attn.qkv_proj", 3 * H, H, false),
                              Linear::load(ckpt, quant, l + "attn.out_proj", H, H, false),
                              Linear::load(ckpt, quant, l + "mlp.fc_in", I, H, true),
                              Linear::load(ckpt, quant, l + "mlp.fc_out", H, I, true)});
    }
    ln_f_ = load_layer_norm(ckpt, p + "ln_f", H);
    lm_head_ = load_lm_head(ckpt, quant, wte_, H);
  }

 private:
  void embed(const int32_t* tokens, int64_t n, float* x) override {
    for (int64_t t = 0; t < n; ++t) wte_.row(tokens[t], x + t * config_.hidden_size);
  }

  void head(const float* x, int64_t n, float* logits, bool all_logits) override {
    const int64_t H = config_.hidden_size, first = all_logits ? 0 : n - 1;
    std::vector<float> h(size_t((n - first) * H));
    for (int64_t t = first; t < n; ++t)
      ln_f_.apply(x + t * H, H, config_.layer_norm_eps, h.data() + (t - first) * H);
    lm_head_.forward(h.data(), n - first, logits, pool_);
  }

  // x [n, hidden] in place: h = LN(x); x += Attn(h) + MLP(h).
  void layer_forward(size_t index, float* x, int64_t n) override {
    const ModelConfig& c = config_;
    const Layer& l = layers_[index];
    const int64_t H = c.hidden_size, I = c.intermediate_size, hd = c.head_dim;
    std::vector<float> h(size_t(n * H)), qkv(size_t(n * 3 * H)), q(size_t(n * H)),
        k(size_t(n * H)), v(size_t(n * H)), attn(size_t(n * H)), o(size_t(n * H));
    for (int64_t t = 0; t < n; ++t) l.ln_1.apply(x + t * H, H, c.layer_norm_eps, h.data() + t * H);
    l.qkv.forward(h.data(), n, qkv.data(), pool_);
    const int64_t chunk = 3 * H / kChunks, local = H / kChunks;
    for (int64_t t = 0; t < n; ++t) {
      const float* src = qkv.data() + t * 3 * H;
      for (int64_t m = 0; m < kChunks; ++m)
        for (int64_t i = 0; i < local; ++i) {
          q[size_t(t * H + m * local + i)] = src[m * chunk + i];
          v[size_t(t * H + m * local + i)] = src[m * chunk + local + i];
          k[size_t(t * H + m * local + i)] = src[m * chunk + 2 * local + i];
        }
      ops::rope_interleaved(q.data() + t * H, c.num_heads, hd, rotary_dim_, pos_ + t);
      ops::rope_interleaved(k.data() + t * H, c.num_heads, hd, rotary_dim_, pos_ + t);
    }
    cached_attention(index, q.data(), k.data(), v.data(), n, 1.0f / std::sqrt(float(hd)), attn.data());
    l.out.forward(attn.data(), n, o.data(), pool_);

    std::vector<float> mid(size_t(n * I)), mlp(size_t(n * H));
    l.fc_in.forward(h.data(), n, mid.data(), pool_);
    ops::activate(act_, mid.data(), n * I);
    l.fc_out.forward(mid.data(), n, mlp.data(), pool_);
    for (int64_t i = 0; i < n * H; ++i) x[i] += o[size_t(i)] + mlp[size_t(i)];
  }

  ops::Activation act_ = ops::Activation::GeluTanh;
  int64_t rotary_dim_ = 0;
  Linear wte_, lm_head_;
  std::vector<Layer> layers_;
  LayerNormWeights ln_f_;
};

}  // namespace

std::unique_ptr<CausalLM> make_codegen(const CheckpointReader& ckpt, int64_t context) {
  return std::make_unique<CodeGen>(ckpt, context);
}

}  // namespace wquant
