// config.json synthesised from a GGUF's metadata, per architecture.
//
// convert_hf_to_gguf.py (llama.cpp, conversion/*.py) writes a subset of the
// Hugging Face config as "<arch>.*" keys. Where a value has no key, the value
// written here is the one llama.cpp itself runs the file with (its
// src/models/<arch>.cpp load_arch_hparams and llama-hparams.h defaults), so
// that wquant computes what llama.cpp computes; each such case cites it.
#include <cmath>
#include <vector>

#include "gguf_architectures.h"
#include "wquant/core/error.h"

namespace wquant {
namespace {

// Typed access to the metadata, failing with the file and key on a wrong type.
class Metadata {
 public:
  Metadata(const GgufFile& file, std::string prefix) : file_(file), prefix_(std::move(prefix)) {}

  const GgufFile& file() const { return file_; }
  const std::string& path() const { return file_.path(); }
  const std::string& prefix() const { return prefix_; }

  const GgufValue* find(const std::string& key) const {
    const auto it = file_.metadata().find(key);
    return it == file_.metadata().end() ? nullptr : &it->second;
  }
  std::optional<int64_t> integer(const std::string& key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (const auto* u = std::get_if<uint64_t>(v)) {
      if (*u <= uint64_t(INT64_MAX)) return int64_t(*u);
    } else if (const auto* s = std::get_if<int64_t>(v)) {
      return *s;
    }
    fail(path(), ": metadata '", key, "' is not an integer (or too large)");
  }
  std::optional<double> real(const std::string& key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (const auto* d = std::get_if<double>(v)) return *d;
    if (integer(key)) return double(*integer(key));
    fail(path(), ": metadata '", key, "' is not a number");
  }
  // Keys below are relative to the architecture prefix ("llama.").
  std::optional<int64_t> arch_integer(const std::string& key) const {
    return integer(prefix_ + key);
  }
  std::optional<double> arch_real(const std::string& key) const { return real(prefix_ + key); }
  // Returns the value, or `fallback` when absent; fails when not positive.
  int64_t positive_integer(const std::string& key, std::optional<int64_t> fallback = {}) const {
    const auto v = arch_integer(key);
    if (!v && fallback) return *fallback;
    if (!v || *v <= 0) fail(path(), ": metadata '", prefix_, key, "' missing or not positive");
    return *v;
  }
  double required_real(const std::string& key) const {
    const auto v = arch_real(key);
    if (!v) fail(path(), ": metadata '", prefix_, key, "' missing");
    return *v;
  }

 private:
  const GgufFile& file_;
  std::string prefix_;
};

// Returns the integer config key `key`, which common_config has set.
int64_t integer(const nlohmann::json& c, const char* key) { return c[key].get<int64_t>(); }

// Returns <arch>.vocab_size, else the length of the token list, else the rows
// of token_embd.weight (transformers uses the first two).
int64_t vocab_size(const Metadata& meta) {
  if (const auto n = meta.arch_integer("vocab_size"); n && *n > 0) return *n;
  if (const GgufValue* tokens = meta.find("tokenizer.ggml.tokens")) {
    if (const auto* list = std::get_if<std::vector<std::string>>(tokens)) {
      if (!list->empty()) return int64_t(list->size());
    }
  }
  const GgufTensorInfo* embed = meta.file().find("token_embd.weight");
  if (embed && embed->dims.size() == 2 && embed->dims[1] > 0) return int64_t(embed->dims[1]);
  fail(meta.path(), ": cannot tell the vocabulary size (no ", meta.prefix(),
       "vocab_size, tokenizer.ggml.tokens or token_embd.weight)");
}

// Rope scaling of any kind is refused: wquant runs the default rope only
// (running a scaled model unscaled would be silently wrong).
void check_default_rope(const Metadata& meta) {
  if (const GgufValue* v = meta.find(meta.prefix() + "rope.scaling.type")) {
    const auto* type = std::get_if<std::string>(v);
    if (!type || *type != "none") {
      fail(meta.path(), ": metadata '", meta.prefix(),
           "rope.scaling.type' is set: rope scaling is not supported");
    }
  }
  for (const char* tensor : {"rope_freqs.weight", "rope_factors_long.weight"}) {
    if (meta.file().find(tensor)) {
      fail(meta.path(), ": tensor '", tensor,
           "' (llama3 / longrope rope scaling) is not supported");
    }
  }
}

// Returns the head size: attention.key_length, which the converter writes
// from the Hugging Face head_dim (qwen3, gemma: not hidden / heads), else
// hidden / heads as llama.cpp assumes. A value_length unlike it is refused.
int64_t head_dim(const Metadata& meta, int64_t hidden, int64_t heads) {
  const int64_t key = meta.positive_integer("attention.key_length", hidden / heads);
  const int64_t value = meta.positive_integer("attention.value_length", key);
  if (key != value) {
    fail(meta.path(), ": metadata '", meta.prefix(), "attention.key_length' ", key, " and '",
         meta.prefix(), "attention.value_length' ", value, " differ (one head size is supported)");
  }
  return key;
}

// Returns each layer's "sliding_attention" / "full_attention" as llama.cpp
// decides it (llama_model_base::load_swa_pattern): the bool array
// attention.sliding_window_pattern (true: sliding), or that key as an integer
// n, else `default_n` (gemma2: 2, gemma3: 6); with n, layer i slides unless
// i % n == n - 1 (n = 0: every layer).
nlohmann::json layer_types(const Metadata& meta, int64_t layers, int64_t default_n) {
  const std::string key = meta.prefix() + "attention.sliding_window_pattern";
  std::vector<bool> sliding;
  const GgufValue* v = meta.find(key);
  if (const auto* list = v ? std::get_if<std::vector<int64_t>>(v) : nullptr) {
    if (int64_t(list->size()) != layers) {
      fail(meta.path(), ": metadata '", key, "' has ", list->size(), " entries for ", layers,
           " layers");
    }
    for (const int64_t s : *list) sliding.push_back(s != 0);
  } else {
    const int64_t n = v ? *meta.integer(key) : default_n;
    if (n < 0) fail(meta.path(), ": metadata '", key, "' is ", n, ", expected >= 0");
    for (int64_t i = 0; i < layers; ++i) sliding.push_back(n == 0 || i % n < n - 1);
  }
  nlohmann::json types = nlohmann::json::array();
  for (const bool s : sliding) types.push_back(s ? "sliding_attention" : "full_attention");
  return types;
}

// Returns llama.cpp's attention scale for gemma 2 / 3 as query_pre_attn_scalar
// (scores scaled by its -1/2 power), which the GGUF does not carry:
// src/models/gemma2.cpp and gemma3.cpp use 1/sqrt(head_dim), except for the
// 27B models, told by their layer count (gemma2: 46, gemma3: 62), which use
// 1/sqrt(hidden / heads), after gemma_pytorch's config. The released Hugging
// Face configs agree (256 = head_dim; 27B: 4608 / 32 = 144, 5376 / 32 = 168);
// another query_pre_attn_scalar does not survive the conversion.
int64_t query_pre_attn_scalar(const nlohmann::json& c, int64_t layers_of_27b) {
  if (integer(c, "num_hidden_layers") == layers_of_27b) {
    return integer(c, "hidden_size") / integer(c, "num_attention_heads");
  }
  return integer(c, "head_dim");
}

// f32 metadata values are widened exactly (0.02 reads back as
// 0.019999999552965164), as transformers' loader does.
void add_llama(const Metadata& meta, nlohmann::json& c) {
  // transformers maps rope.dimension_count to head_dim for llama.
  c["head_dim"] = meta.arch_integer("rope.dimension_count")
                      .value_or(integer(c, "hidden_size") / integer(c, "num_attention_heads"));
  c["attention_bias"] = meta.file().find("blk.0.attn_q.bias") != nullptr;
  c["mlp_bias"] = false;
}

void add_qwen2(const Metadata&, nlohmann::json&) {}

void add_qwen3(const Metadata& meta, nlohmann::json& c) {
  c["head_dim"] = head_dim(meta, integer(c, "hidden_size"), integer(c, "num_attention_heads"));
  c["attention_bias"] = meta.file().find("blk.0.attn_q.bias") != nullptr;
  // llama.cpp's qwen3 has no sliding window, and the converter writes none.
  c["use_sliding_window"] = false;
}

// Gemma 1: llama.cpp runs every gemma with ggml_gelu, the tanh approximation
// (Hugging Face's gelu_pytorch_tanh), whatever hidden_act the original named.
void add_gemma(const Metadata& meta, nlohmann::json& c) {
  c["head_dim"] = head_dim(meta, integer(c, "hidden_size"), integer(c, "num_attention_heads"));
  c["hidden_act"] = "gelu_pytorch_tanh";
  c["hidden_activation"] = "gelu_pytorch_tanh";
}

// Gemma 2. Without their keys, llama.cpp (src/models/gemma2.cpp,
// llama-hparams.h) caps attention scores at 50 and logits at 30, slides a
// 4096-key window on every other layer from the first, and uses one rope base
// for all layers.
void add_gemma2(const Metadata& meta, nlohmann::json& c) {
  add_gemma(meta, c);
  c["query_pre_attn_scalar"] = query_pre_attn_scalar(c, 46);
  c["attn_logit_softcapping"] = meta.arch_real("attn_logit_softcapping").value_or(50.0);
  c["final_logit_softcapping"] = meta.arch_real("final_logit_softcapping").value_or(30.0);
  c["sliding_window"] = meta.positive_integer("attention.sliding_window", 4096);
  c["layer_types"] = layer_types(meta, integer(c, "num_hidden_layers"), 2);
  const auto swa = meta.arch_real("rope.freq_base_swa");
  if (swa && *swa != c["rope_theta"].get<double>()) {
    fail(meta.path(), ": metadata '", meta.prefix(), "rope.freq_base_swa' ", *swa,
         " differs from rope.freq_base: a gemma2 config has one rope base");
  }
}

// Gemma 3 (text). Sliding layers only when attention.sliding_window is set and
// positive (src/models/gemma3.cpp), five of every six by default, with their
// own rope base: rope.freq_base_swa, else llama-hparams.h's 10000 (Hugging
// Face's default too). No attention soft-cap (the converter asserts none);
// the logit soft-cap only when the file has one.
void add_gemma3(const Metadata& meta, nlohmann::json& c) {
  add_gemma(meta, c);
  c["query_pre_attn_scalar"] = query_pre_attn_scalar(c, 62);
  c["attn_logit_softcapping"] = nullptr;
  c["final_logit_softcapping"] = nullptr;
  if (const auto cap = meta.arch_real("final_logit_softcapping")) {
    c["final_logit_softcapping"] = *cap;
  }
  const int64_t window = meta.arch_integer("attention.sliding_window").value_or(0);
  if (window > 0) {
    c["sliding_window"] = window;
    c["layer_types"] = layer_types(meta, integer(c, "num_hidden_layers"), 6);
  } else {
    const size_t layers = size_t(integer(c, "num_hidden_layers"));
    c["layer_types"] = std::vector<std::string>(layers, "full_attention");
  }
  const double full = c["rope_theta"].get<double>();
  const double sliding = meta.arch_real("rope.freq_base_swa").value_or(1e4);
  c.erase("rope_theta");  // transformers 5's form: one rope per attention type
  const auto rope = [](double theta) {
    return nlohmann::json{{"rope_type", "default"}, {"rope_theta", theta}};
  };
  c["rope_parameters"] = {{"full_attention", rope(full)}, {"sliding_attention", rope(sliding)}};
}

// Phi-3: heads of hidden / heads; rotary on the first rope.dimension_count
// values of each (the converter writes int(partial_rotary_factor * hidden) /
// heads); a sliding window when attention.sliding_window > 0 (the converter
// writes 0 for none). llama.cpp itself currently runs phi3 without the window
// (src/models/phi3.cpp: "Phi SWA is currently disabled"); wquant follows the
// Hugging Face original the value was copied from.
void add_phi3(const Metadata& meta, nlohmann::json& c) {
  const int64_t hd = head_dim(meta, integer(c, "hidden_size"), integer(c, "num_attention_heads"));
  c["head_dim"] = hd;
  const int64_t rotary = meta.positive_integer("rope.dimension_count", hd);
  const double factor = double(rotary) / double(hd);
  // phi3.cpp (like transformers) takes int(head_dim * factor) in f32.
  if (rotary > hd || int64_t(float(hd) * float(factor)) != rotary) {
    fail(meta.path(), ": metadata '", meta.prefix(), "rope.dimension_count' ", rotary,
         " is not a rotary part of the ", hd, "-value heads");
  }
  c["partial_rotary_factor"] = factor;
  const int64_t window = meta.arch_integer("attention.sliding_window").value_or(0);
  c["sliding_window"] = window > 0 ? nlohmann::json(window) : nlohmann::json(nullptr);
  if (const auto n = meta.arch_integer("rope.scaling.original_context_length")) {
    c["original_max_position_embeddings"] = *n;
  }
}

struct ConfigRule {
  std::string_view gguf_name;
  void (*add)(const Metadata&, nlohmann::json&);
};
constexpr ConfigRule kConfigRules[] = {
    {"llama", add_llama}, {"qwen2", add_qwen2},   {"qwen3", add_qwen3}, {"gemma", add_gemma},
    {"gemma2", add_gemma2}, {"gemma3", add_gemma3}, {"phi3", add_phi3},
};

// Returns the keys every architecture has.
nlohmann::json common_config(const Metadata& meta, const GgufArchitecture& arch) {
  const std::string& p = meta.prefix();
  nlohmann::json c;
  c["architectures"] = {std::string(arch.hf_class)};
  c["model_type"] = std::string(arch.model_type);
  c["hidden_size"] = meta.positive_integer("embedding_length");
  c["intermediate_size"] = meta.positive_integer("feed_forward_length");
  c["num_hidden_layers"] = meta.positive_integer("block_count");
  const int64_t heads = meta.positive_integer("attention.head_count");
  c["num_attention_heads"] = heads;
  const int64_t kv_heads = meta.arch_integer("attention.head_count_kv").value_or(heads);
  if (kv_heads <= 0 || heads % kv_heads != 0) {
    fail(meta.path(), ": metadata '", p, "attention.head_count_kv' ", kv_heads,
         " does not divide the ", heads, " attention heads");
  }
  c["num_key_value_heads"] = kv_heads;
  // f32 in the file, widened exactly (1e-5 reads back as 9.999999747378752e-06,
  // as in transformers).
  c["rms_norm_eps"] = meta.required_real("attention.layer_norm_rms_epsilon");
  c["rope_theta"] = meta.arch_real("rope.freq_base").value_or(10000.0);
  c["max_position_embeddings"] = meta.positive_integer("context_length");
  c["vocab_size"] = vocab_size(meta);
  c["tie_word_embeddings"] = meta.file().find("output.weight") == nullptr;
  for (const auto& [gguf_key, hf_key] : {std::pair{"bos_token_id", "bos_token_id"},
                                         std::pair{"eos_token_id", "eos_token_id"},
                                         std::pair{"padding_token_id", "pad_token_id"},
                                         std::pair{"unknown_token_id", "unk_token_id"}}) {
    if (const auto id = meta.integer(cat("tokenizer.ggml.", gguf_key))) c[hf_key] = *id;
  }
  c["hidden_act"] = "silu";
  c["torch_dtype"] = "float32";
  return c;
}

}  // namespace

nlohmann::json make_hf_config(const GgufFile& file, const GgufArchitecture& arch) {
  const Metadata meta(file, cat(arch.gguf_name, "."));
  check_default_rope(meta);
  nlohmann::json c = common_config(meta, arch);
  for (const ConfigRule& rule : kConfigRules) {
    if (rule.gguf_name == arch.gguf_name) rule.add(meta, c);
  }
  return c;
}

}  // namespace wquant
