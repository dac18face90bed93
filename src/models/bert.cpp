// BERT encoder (model_type "bert"; all-MiniLM-L6-v2 is one): learned
// absolute position embeddings, post-LayerNorm layers of bidirectional
// multi-head attention and a GELU (exact, erf) feed-forward network.
//
// Hugging Face tensor names (N = layer; a BertForXxx checkpoint prefixes
// every name with "bert.", a BertModel one such as MiniLM does not):
//   embeddings.word_embeddings.weight                  [vocab, hidden]
//   embeddings.position_embeddings.weight              [max_positions, hidden]
//   embeddings.token_type_embeddings.weight            [type_vocab, hidden]
//   embeddings.LayerNorm.{weight,bias}                 [hidden]
//   encoder.layer.N.attention.self.{query,key,value}.{weight,bias}  [hidden, hidden], [hidden]
//   encoder.layer.N.attention.output.dense.{weight,bias}            [hidden, hidden], [hidden]
//   encoder.layer.N.attention.output.LayerNorm.{weight,bias}        [hidden]
//   encoder.layer.N.intermediate.dense.{weight,bias}   [intermediate, hidden], [intermediate]
//   encoder.layer.N.output.dense.{weight,bias}         [hidden, intermediate], [hidden]
//   encoder.layer.N.output.LayerNorm.{weight,bias}     [hidden]
// The pooler (pooler.dense.*) is not used: sentence embeddings pool the
// last hidden state (mean_pool_normalize).
#include <cmath>

#include "wquant/core/error.h"
#include "wquant/io/json_number.h"
#include "wquant/models/config.h"
#include "wquant/models/encoder.h"
#include "wquant/kernels/attention.h"
#include "wquant/models/linear.h"
#include "wquant/models/ops.h"
#include "bert.h"
#include "weights.h"

namespace wquant {
namespace {

EncoderConfig bert_config_from_json(const nlohmann::json& c, const std::string& where) try {
  if (!c.is_object()) fail(where, ": config is not a JSON object");
  EncoderConfig m;
  m.model_type = c.value("model_type", "");
  m.vocab_size = config_positive_int(c, "vocab_size", where);
  m.hidden_size = config_positive_int(c, "hidden_size", where);
  m.num_layers = config_positive_int(c, "num_hidden_layers", where);
  m.num_heads = config_positive_int(c, "num_attention_heads", where);
  m.intermediate_size = config_positive_int(c, "intermediate_size", where);
  m.max_positions = config_positive_int(c, "max_position_embeddings", where);
  m.type_vocab_size = json_int_or(c, "type_vocab_size", 2, 1, INT32_MAX, where + ": config key");
  m.layer_norm_eps = json_float_or(c, "layer_norm_eps", 1e-12f, where + ": config key");
  if (m.hidden_size % m.num_heads != 0)
    fail(where, ": hidden_size ", m.hidden_size, " is not a multiple of num_attention_heads ",
         m.num_heads);
  const std::string act = c.value("hidden_act", "gelu");
  if (act != "gelu")
    fail(where, ": hidden_act '", act, "' is not supported (BERT in wquant: 'gelu', the erf form)");
  const std::string pos = c.value("position_embedding_type", "absolute");
  if (pos != "absolute")
    fail(where, ": position_embedding_type '", pos, "' is not supported (only 'absolute')");
  return m;
} catch (const nlohmann::json::exception& e) {  // a value of the wrong JSON type
  fail(where, ": config: unexpected content: ", e.what());
}

struct Layer {
  Linear query, key, value, attn_out;
  LayerNormWeights attn_norm;
  Linear intermediate, output;
  LayerNormWeights output_norm;
};

class Bert : public Encoder {
 public:
  explicit Bert(const CheckpointReader& ckpt)
      : config_(bert_config_from_json(ckpt.config(), ckpt.path())) {
    const EncoderConfig& c = config_;
    const QuantizationInfo quant(ckpt.config(), ckpt.path());
    const std::string p = has_weight(ckpt, "bert.embeddings.word_embeddings") ? "bert." : "";
    const int64_t H = c.hidden_size, I = c.intermediate_size;
    // Embedding tables are Linears so that a quantized one also loads; a
    // token's embedding is a row.
    word_ = Linear::load(ckpt, quant, p + "embeddings.word_embeddings", c.vocab_size, H, false);
    position_ = Linear::load(ckpt, quant, p + "embeddings.position_embeddings", c.max_positions, H, false);
    token_type_ = Linear::load(ckpt, quant, p + "embeddings.token_type_embeddings", c.type_vocab_size, H, false);
    embed_norm_ = load_layer_norm(ckpt, p + "embeddings.LayerNorm", H);
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string l = p + "encoder.layer." + std::to_string(i) + ".";
      layers_.push_back(Layer{
          Linear::load(ckpt, quant, l + "attention.self.query", H, H, true),
          Linear::load(ckpt, quant, l + "attention.self.key", H, H, true),
          Linear::load(ckpt, quant, l + "attention.self.value", H, H, true),
          Linear::load(ckpt, quant, l + "attention.output.dense", H, H, true),
          load_layer_norm(ckpt, l + "attention.output.LayerNorm", H),
          Linear::load(ckpt, quant, l + "intermediate.dense", I, H, true),
          Linear::load(ckpt, quant, l + "output.dense", H, I, true),
          load_layer_norm(ckpt, l + "output.LayerNorm", H)});
    }
  }

  const EncoderConfig& config() const override { return config_; }
  int64_t hidden_size() const override { return config_.hidden_size; }
  int64_t max_positions() const override { return config_.max_positions; }

  std::vector<float> embed(const std::vector<int32_t>& ids) override {
    const int64_t n = int64_t(ids.size());
    std::vector<float> x(size_t(n * config_.hidden_size));
    embed_window(ids.data(), n, x.data());
    for (const Layer& l : layers_) layer_forward(l, x.data(), n);
    return x;
  }

  int64_t num_blocks() const override { return config_.num_layers; }
  int64_t hidden_width() const override { return config_.hidden_size; }
  int64_t window_limit() const override { return config_.max_positions; }
  int64_t head_vocab() const override { return 0; }

  void embed_window(const int32_t* ids, int64_t n, float* x) override {
    const EncoderConfig& c = config_;
    const int64_t H = c.hidden_size;
    if (n <= 0) fail("embed: no tokens");
    if (n > c.max_positions)
      fail("embed: ", n, " tokens exceed max_position_embeddings ", c.max_positions);
    std::vector<float> row(static_cast<size_t>(H)), type0(static_cast<size_t>(H));
    token_type_.row(0, type0.data());  // a single sequence: every token is segment 0
    for (int64_t t = 0; t < n; ++t) {
      if (ids[t] < 0 || ids[t] >= c.vocab_size)
        fail("embed: token id ", ids[t], " outside the vocabulary of ", c.vocab_size);
      float* xt = x + t * H;
      word_.row(ids[t], xt);
      // transformers adds token_type to the word embedding first, then position.
      for (int64_t i = 0; i < H; ++i) xt[i] += type0[size_t(i)];
      position_.row(t, row.data());
      for (int64_t i = 0; i < H; ++i) xt[i] += row[size_t(i)];
      embed_norm_.apply(xt, H, c.layer_norm_eps, xt);
    }
  }

  void block_window(int64_t b, float* x, int64_t n) override {
    if (b < 0 || b >= num_blocks()) fail("block_window: block ", b, " of ", num_blocks());
    if (n <= 0 || n > config_.max_positions) fail("block_window: ", n, " tokens for ", config_.max_positions);
    layer_forward(layers_[size_t(b)], x, n);
  }

  void head_window(const float*, int64_t, float*) override {
    fail("head_window: ", config_.model_type, " is an encoder without a language-model head");
  }

 private:
  // x [n, hidden] in place: x = LN(x + Attn(x)); x = LN(x + FFN(x)).
  void layer_forward(const Layer& l, float* x, int64_t n) {
    const EncoderConfig& c = config_;
    const int64_t H = c.hidden_size, I = c.intermediate_size;
    std::vector<float> q(size_t(n * H)), k(size_t(n * H)), v(size_t(n * H)), attn(size_t(n * H)),
        o(size_t(n * H));
    l.query.forward(x, n, q.data(), pool_);
    l.key.forward(x, n, k.data(), pool_);
    l.value.forward(x, n, v.data(), pool_);
    const int64_t hd = H / c.num_heads;
    attention({c.num_heads, c.num_heads, hd}, q.data(), n, k.data(), v.data(), n, /*causal=*/false,
              1.0f / std::sqrt(float(hd)), attn.data(), pool_);
    l.attn_out.forward(attn.data(), n, o.data(), pool_);
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t i = 0; i < H; ++i) x[t * H + i] += o[size_t(t * H + i)];
      l.attn_norm.apply(x + t * H, H, c.layer_norm_eps, x + t * H);
    }
    std::vector<float> mid(size_t(n * I));
    l.intermediate.forward(x, n, mid.data(), pool_);
    for (float& m : mid) m = ops::gelu(m);
    l.output.forward(mid.data(), n, o.data(), pool_);
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t i = 0; i < H; ++i) x[t * H + i] += o[size_t(t * H + i)];
      l.output_norm.apply(x + t * H, H, c.layer_norm_eps, x + t * H);
    }
  }

  EncoderConfig config_;
  ThreadPool pool_;  // hardware_concurrency threads for the linear layers
  Linear word_, position_, token_type_;
  LayerNormWeights embed_norm_;
  std::vector<Layer> layers_;
};

}  // namespace

std::unique_ptr<Encoder> make_bert(const CheckpointReader& ckpt) {
  return std::make_unique<Bert>(ckpt);
}

}  // namespace wquant
