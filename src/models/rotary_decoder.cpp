#include "rotary_decoder.h"

#include <cmath>

#include "wquant/core/error.h"
#include "wquant/io/json_number.h"
#include "wquant/kernels/attention.h"

namespace wquant {
namespace {

// Writes RMSNorm(x) of n rows of `width` values to out (in place if out == x).
void rms_rows(const float* x, const std::vector<float>& w, int64_t n, int64_t width, float eps,
              float* out) {
  for (int64_t t = 0; t < n; ++t) ops::rms_norm(x + t * width, w.data(), width, eps, out + t * width);
}

// x [n, width] += (norm.empty() ? y : RMSNorm(y)).
void add_residual(float* x, std::vector<float>& y, const std::vector<float>& norm, int64_t n,
                  int64_t width, float eps) {
  if (!norm.empty()) rms_rows(y.data(), norm, n, width, eps, y.data());
  for (int64_t i = 0; i < n * width; ++i) x[i] += y[size_t(i)];
}

// Copies columns [from, from + width) of fused [n, stride] into out [n, width].
void split_columns(const std::vector<float>& fused, int64_t n, int64_t stride, int64_t from,
                   int64_t width, std::vector<float>& out) {
  for (int64_t t = 0; t < n; ++t)
    std::copy_n(fused.data() + t * stride + from, width, out.data() + t * width);
}

}  // namespace

std::vector<float> load_norm(const CheckpointReader& ckpt, const std::string& name, int64_t n,
                             float add) {
  std::vector<float> w = load_vector(ckpt, name, n);
  if (add != 0)
    for (float& x : w) x += add;
  return w;
}

RotaryLayer load_llama_named_layer(const CheckpointReader& ckpt, const QuantizationInfo& quant,
                                   const ModelConfig& c, const std::string& p, float norm_add) {
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  const int64_t q_dim = c.num_heads * c.head_dim, kv_dim = c.num_kv_heads * c.head_dim;
  const bool bias = c.attention_bias;
  RotaryLayer l;
  l.attn_norm = load_norm(ckpt, p + "input_layernorm.weight", H, norm_add);
  l.q = Linear::load(ckpt, quant, p + "self_attn.q_proj", q_dim, H, bias);
  l.k = Linear::load(ckpt, quant, p + "self_attn.k_proj", kv_dim, H, bias);
  l.v = Linear::load(ckpt, quant, p + "self_attn.v_proj", kv_dim, H, bias);
  l.o = Linear::load(ckpt, quant, p + "self_attn.o_proj", H, q_dim, false);
  l.gate = Linear::load(ckpt, quant, p + "mlp.gate_proj", I, H, false);
  l.up = Linear::load(ckpt, quant, p + "mlp.up_proj", I, H, false);
  l.down = Linear::load(ckpt, quant, p + "mlp.down_proj", H, I, false);
  l.rope_theta = c.rope_theta;
  return l;
}

std::vector<bool> sliding_layers(const nlohmann::json& config, int64_t num_layers,
                                 bool (*fallback)(int64_t), const std::string& where) {
  std::vector<bool> out(static_cast<size_t>(num_layers));
  const auto it = config.find("layer_types");
  if (it == config.end() || it->is_null()) {
    for (int64_t i = 0; i < num_layers; ++i) out[size_t(i)] = fallback(i);
    return out;
  }
  if (!it->is_array() || int64_t(it->size()) != num_layers)
    fail(where, ": config key 'layer_types' is not a list of ", num_layers, " layer types");
  for (int64_t i = 0; i < num_layers; ++i) {
    const nlohmann::json& t = (*it)[size_t(i)];
    if (t == "sliding_attention") out[size_t(i)] = true;
    else if (t != "full_attention")
      fail(where, ": config key 'layer_types'[", i, "] is ", printable(t.dump()),
           " (supported: full_attention, sliding_attention)");
  }
  return out;
}

float default_rope_theta(const nlohmann::json& params, float fallback, const std::string& where) {
  if (!params.is_object()) return fallback;
  const std::string type = params.contains("rope_type") && params["rope_type"].is_string()
                               ? params["rope_type"].get<std::string>()
                               : params.value("type", std::string("default"));
  if (type != "default")
    fail(where, ": rope type '", printable(type), "' is not supported (only the default rotary embedding)");
  return json_float_or(params, "rope_theta", fallback, where + ": rope parameter");
}

void check_default_rope(const nlohmann::json& config, const std::string& where) {
  for (const char* key : {"rope_scaling", "rope_parameters"})
    if (const auto it = config.find(key); it != config.end()) default_rope_theta(*it, 0, where);
}

void RotaryDecoder::embed(const int32_t* tokens, int64_t n, float* x) {
  // The embedding matrix is a Linear [vocab, hidden] so that a tied lm_head
  // can share it; a token's embedding is one of its rows.
  const int64_t H = config_.hidden_size;
  for (int64_t t = 0; t < n; ++t) embed_.row(tokens[t], x + t * H);
  if (options_.embed_scale != 1)
    for (int64_t i = 0; i < n * H; ++i) x[i] *= options_.embed_scale;
}

void RotaryDecoder::head(const float* x, int64_t n, float* logits, bool all_logits) {
  const int64_t H = config_.hidden_size, first = all_logits ? 0 : n - 1;
  std::vector<float> h(size_t((n - first) * H));
  rms_rows(x + first * H, final_norm_, n - first, H, config_.rms_norm_eps, h.data());
  lm_head_.forward(h.data(), n - first, logits, pool_);
  if (const float cap = options_.final_softcap; cap > 0)
    for (int64_t i = 0; i < (n - first) * config_.vocab_size; ++i)
      logits[i] = cap * std::tanh(logits[i] / cap);
}

void RotaryDecoder::layer_forward(size_t index, float* x, int64_t n) {
  const RotaryLayer& l = layers_[index];
  const ModelConfig& c = config_;
  const float eps = c.rms_norm_eps;
  const int64_t H = c.hidden_size, hd = c.head_dim, I = c.intermediate_size;
  const int64_t q_dim = c.num_heads * hd, kv_dim = c.num_kv_heads * hd;
  std::vector<float> h(size_t(n * H)), q(size_t(n * q_dim)), k(size_t(n * kv_dim)),
      v(size_t(n * kv_dim)), attn(size_t(n * q_dim)), o(size_t(n * H));

  rms_rows(x, l.attn_norm, n, H, eps, h.data());
  if (l.qkv.out_features() > 0) {
    std::vector<float> qkv(size_t(n * (q_dim + 2 * kv_dim)));
    l.qkv.forward(h.data(), n, qkv.data(), pool_);
    split_columns(qkv, n, q_dim + 2 * kv_dim, 0, q_dim, q);
    split_columns(qkv, n, q_dim + 2 * kv_dim, q_dim, kv_dim, k);
    split_columns(qkv, n, q_dim + 2 * kv_dim, q_dim + kv_dim, kv_dim, v);
  } else {
    l.q.forward(h.data(), n, q.data(), pool_);
    l.k.forward(h.data(), n, k.data(), pool_);
    l.v.forward(h.data(), n, v.data(), pool_);
  }
  if (!l.q_norm.empty()) {  // per head: rows of head_dim values
    rms_rows(q.data(), l.q_norm, n * c.num_heads, hd, eps, q.data());
    rms_rows(k.data(), l.k_norm, n * c.num_kv_heads, hd, eps, k.data());
  }
  for (int64_t t = 0; t < n; ++t) {
    ops::rope(q.data() + t * q_dim, c.num_heads, hd, pos_ + t, l.rope_theta, options_.rotary_dim);
    ops::rope(k.data() + t * kv_dim, c.num_kv_heads, hd, pos_ + t, l.rope_theta, options_.rotary_dim);
  }
  const float scale = options_.attn_scale > 0 ? options_.attn_scale : 1.0f / std::sqrt(float(hd));
  cached_attention(index, q.data(), k.data(), v.data(), n, scale, attn.data(),
                   {l.window, options_.attn_softcap});
  l.o.forward(attn.data(), n, o.data(), pool_);
  add_residual(x, o, l.attn_out_norm, n, H, eps);

  std::vector<float> gate(size_t(n * I)), up(size_t(n * I)), down(size_t(n * H));
  rms_rows(x, l.ffn_norm, n, H, eps, h.data());
  if (l.gate_up.out_features() > 0) {
    std::vector<float> gate_up(size_t(n * 2 * I));
    l.gate_up.forward(h.data(), n, gate_up.data(), pool_);
    split_columns(gate_up, n, 2 * I, 0, I, gate);
    split_columns(gate_up, n, 2 * I, I, I, up);
  } else {
    l.gate.forward(h.data(), n, gate.data(), pool_);
    l.up.forward(h.data(), n, up.data(), pool_);
  }
  ops::activate(options_.act, gate.data(), n * I);
  for (int64_t i = 0; i < n * I; ++i) gate[size_t(i)] *= up[size_t(i)];
  l.down.forward(gate.data(), n, down.data(), pool_);
  add_residual(x, down, l.ffn_out_norm, n, H, eps);
}

}  // namespace wquant
