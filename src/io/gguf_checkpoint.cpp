// A GGUF file presented as a Hugging Face checkpoint: llama.cpp tensor names
// translated to Hugging Face names, llama's Q/K row permutation undone, every
// tensor decoded to f32, and a config.json synthesised from the metadata.
// The result matches what transformers' own GGUF loader
// (modeling_gguf_pytorch_utils.load_gguf_checkpoint) produces.
#include <map>
#include <string_view>

#include "wquant/core/error.h"
#include "wquant/io/checkpoint_formats.h"
#include "wquant/io/gguf.h"

namespace wquant {
namespace {

struct Architecture {
  std::string_view gguf_name;   // general.architecture, and the metadata key prefix
  std::string_view model_type;  // config.json model_type
  std::string_view hf_class;    // config.json architectures[0]
  // convert_hf_to_gguf.py's LlamaModel.permute reorders the rows of q_proj and
  // k_proj (weight and bias) inside each head, from Hugging Face's rotary
  // layout (two halves) to GGML's (interleaved pairs); it must be undone.
  bool permuted_qk;
};

constexpr Architecture kArchitectures[] = {
    {"llama", "llama", "LlamaForCausalLM", true},
    {"qwen2", "qwen2", "Qwen2ForCausalLM", false},
};
constexpr std::string_view kSupported = "llama, qwen2";

struct NamePair {
  std::string_view gguf, hf;
};

// Whole-model tensors: "<gguf>.weight" -> "<hf>.weight".
constexpr NamePair kModelNames[] = {
    {"token_embd", "model.embed_tokens"},
    {"output_norm", "model.norm"},
    {"output", "lm_head"},
};

// Per-layer tensors: "blk.N.<gguf>.weight" -> "model.layers.N.<hf>.weight"
// (and .bias likewise).
constexpr NamePair kLayerNames[] = {
    {"attn_q", "self_attn.q_proj"},
    {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},
    {"attn_output", "self_attn.o_proj"},
    {"ffn_gate", "mlp.gate_proj"},
    {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
    {"attn_norm", "input_layernorm"},
    {"ffn_norm", "post_attention_layernorm"},
};

// Returns the Hugging Face name for a llama.cpp name, or "" if it has none.
std::string hf_name(const std::string& gguf) {
  const size_t dot = gguf.rfind('.');
  if (dot == std::string::npos) return "";
  const std::string_view base = std::string_view(gguf).substr(0, dot);
  const std::string_view suffix = std::string_view(gguf).substr(dot);  // ".weight"
  if (suffix != ".weight" && suffix != ".bias") return "";
  for (const NamePair& p : kModelNames) {
    if (base == p.gguf) return cat(p.hf, suffix);
  }
  if (!base.starts_with("blk.")) return "";
  const std::string_view rest = base.substr(4);
  const size_t layer_end = rest.find('.');
  if (layer_end == 0 || layer_end == std::string_view::npos) return "";
  const std::string_view layer = rest.substr(0, layer_end);
  if (layer.find_first_not_of("0123456789") != std::string_view::npos) return "";
  const std::string_view part = rest.substr(layer_end + 1);
  for (const NamePair& p : kLayerNames) {
    if (part == p.gguf) return cat("model.layers.", layer, ".", p.hf, suffix);
  }
  return "";
}

// Returns `in` ([rows, cols] row-major) with the rows of each of `heads` heads
// put back in Hugging Face order. A head has 2 * half rows; llama.cpp stores
// Hugging Face row (i * half + j) of a head, i in {0, 1}, j < half, as its
// row (2 * j + i).
std::vector<float> unpermute_rows(const std::vector<float>& in, int64_t rows, int64_t heads) {
  const int64_t cols = int64_t(in.size()) / rows;
  const int64_t half = rows / heads / 2;
  std::vector<float> out(in.size());
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < 2; ++i) {
      for (int64_t j = 0; j < half; ++j) {
        const int64_t hf_row = h * 2 * half + i * half + j;
        const int64_t gguf_row = h * 2 * half + 2 * j + i;
        std::copy_n(in.begin() + gguf_row * cols, cols, out.begin() + hf_row * cols);
      }
    }
  }
  return out;
}

// Typed access to the metadata, failing with the file and key on a wrong type.
class Metadata {
 public:
  Metadata(const GgufFile& file, std::string prefix) : file_(file), prefix_(std::move(prefix)) {}

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
    fail(file_.path(), ": metadata '", key, "' is not an integer (or too large)");
  }
  std::optional<double> real(const std::string& key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (const auto* d = std::get_if<double>(v)) return *d;
    if (integer(key)) return double(*integer(key));
    fail(file_.path(), ": metadata '", key, "' is not a number");
  }
  // Keys below are relative to the architecture prefix ("llama.").
  int64_t required_integer(const std::string& key) const {
    const auto v = integer(prefix_ + key);
    if (!v || *v <= 0) {
      fail(file_.path(), ": metadata '", prefix_, key, "' missing or not positive");
    }
    return *v;
  }
  double required_real(const std::string& key) const {
    const auto v = real(prefix_ + key);
    if (!v) fail(file_.path(), ": metadata '", prefix_, key, "' missing");
    return *v;
  }
  const std::string& prefix() const { return prefix_; }

 private:
  const GgufFile& file_;
  std::string prefix_;
};

const Architecture& find_architecture(const GgufFile& file) {
  const auto it = file.metadata().find("general.architecture");
  if (it == file.metadata().end() || !std::holds_alternative<std::string>(it->second)) {
    fail(file.path(), ": metadata 'general.architecture' missing or not a string");
  }
  const std::string& name = std::get<std::string>(it->second);
  for (const Architecture& a : kArchitectures) {
    if (name == a.gguf_name) return a;
  }
  fail(file.path(), ": unsupported architecture '", name, "' (supported: ", kSupported, ")");
}

// Returns <arch>.vocab_size, else the length of the token list, else the rows
// of token_embd.weight (transformers uses the first two).
int64_t vocab_size(const GgufFile& file, const Metadata& meta) {
  if (const auto n = meta.integer(meta.prefix() + "vocab_size"); n && *n > 0) return *n;
  if (const GgufValue* tokens = meta.find("tokenizer.ggml.tokens")) {
    if (const auto* list = std::get_if<std::vector<std::string>>(tokens)) {
      if (!list->empty()) return int64_t(list->size());
    }
  }
  const GgufTensorInfo* embed = file.find("token_embd.weight");
  if (embed && embed->dims.size() == 2 && embed->dims[1] > 0) return int64_t(embed->dims[1]);
  fail(file.path(), ": cannot tell the vocabulary size (no ", meta.prefix(),
       "vocab_size, tokenizer.ggml.tokens or token_embd.weight)");
}

// Returns config.json for the model, with the keys transformers' GGUF loader
// derives (integrations/ggml.py GGUF_CONFIG_MAPPING) plus the ones a
// Hugging Face checkpoint carries.
nlohmann::json make_config(const GgufFile& file, const Architecture& arch) {
  const Metadata meta(file, cat(arch.gguf_name, "."));
  const std::string& p = meta.prefix();
  if (const GgufValue* v = meta.find(p + "rope.scaling.type")) {
    const auto* type = std::get_if<std::string>(v);
    if (!type || *type != "none") {
      fail(file.path(), ": metadata '", p,
           "rope.scaling.type' is set: rope scaling is not supported");
    }
  }
  if (file.find("rope_freqs.weight")) {
    fail(file.path(), ": tensor 'rope_freqs.weight' (llama3 rope scaling) is not supported");
  }
  nlohmann::json c;
  c["architectures"] = {std::string(arch.hf_class)};
  c["model_type"] = std::string(arch.model_type);
  c["hidden_size"] = meta.required_integer("embedding_length");
  c["intermediate_size"] = meta.required_integer("feed_forward_length");
  c["num_hidden_layers"] = meta.required_integer("block_count");
  const int64_t heads = meta.required_integer("attention.head_count");
  c["num_attention_heads"] = heads;
  const int64_t kv_heads = meta.integer(p + "attention.head_count_kv").value_or(heads);
  if (kv_heads <= 0 || heads % kv_heads != 0) {
    fail(file.path(), ": metadata '", p, "attention.head_count_kv' ", kv_heads,
         " does not divide the ", heads, " attention heads");
  }
  c["num_key_value_heads"] = kv_heads;
  if (arch.gguf_name == "llama") {
    // transformers maps rope.dimension_count to head_dim for llama.
    const int64_t head_dim = meta.integer(p + "rope.dimension_count")
                                 .value_or(c["hidden_size"].get<int64_t>() / heads);
    c["head_dim"] = head_dim;
  }
  // f32 in the file, widened exactly (1e-5 reads back as 9.999999747378752e-06,
  // as in transformers).
  c["rms_norm_eps"] = meta.required_real("attention.layer_norm_rms_epsilon");
  c["rope_theta"] = meta.real(p + "rope.freq_base").value_or(10000.0);
  c["max_position_embeddings"] = meta.required_integer("context_length");
  c["vocab_size"] = vocab_size(file, meta);
  c["tie_word_embeddings"] = file.find("output.weight") == nullptr;
  for (const auto& [gguf_key, hf_key] : {std::pair{"bos_token_id", "bos_token_id"},
                                         std::pair{"eos_token_id", "eos_token_id"},
                                         std::pair{"padding_token_id", "pad_token_id"},
                                         std::pair{"unknown_token_id", "unk_token_id"}}) {
    if (const auto id = meta.integer(cat("tokenizer.ggml.", gguf_key))) c[hf_key] = *id;
  }
  c["hidden_act"] = "silu";
  if (arch.gguf_name == "llama") {
    c["attention_bias"] = file.find("blk.0.attn_q.bias") != nullptr;
    c["mlp_bias"] = false;
  }
  c["torch_dtype"] = "float32";
  return c;
}

class GgufCheckpoint : public CheckpointReader {
 public:
  explicit GgufCheckpoint(const std::string& path)
      : file_(path), arch_(find_architecture(file_)), config_(make_config(file_, arch_)) {
    const int64_t heads = config_["num_attention_heads"].get<int64_t>();
    const int64_t kv_heads = config_["num_key_value_heads"].get<int64_t>();
    for (size_t i = 0; i < file_.tensors().size(); ++i) {
      const GgufTensorInfo& t = file_.tensors()[i];
      const std::string name = hf_name(t.name);
      if (name.empty()) {
        fail(path, ": tensor '", t.name, "' has no Hugging Face equivalent for architecture '",
             arch_.gguf_name, "'");
      }
      int64_t permute_heads = 0;
      if (arch_.permuted_qk) {
        if (t.name.find(".attn_q.") != std::string::npos) permute_heads = heads;
        if (t.name.find(".attn_k.") != std::string::npos) permute_heads = kv_heads;
      }
      const Shape shape = t.shape();
      if (permute_heads > 0 && (shape.empty() || shape[0] % (2 * permute_heads) != 0)) {
        fail(path, ": tensor '", t.name, "' ", shape_str(shape), ": rows are not ",
             permute_heads, " heads of an even size");
      }
      if (!index_.emplace(name, entries_.size()).second) {
        fail(path, ": two tensors map to '", name, "'");
      }
      entries_.push_back({i, permute_heads});
      infos_.push_back({name, shape, DType::F32, ggml_type_name(t.type), t.nbytes});
    }
  }

  const std::string& path() const override { return file_.path(); }
  const std::vector<TensorInfo>& tensors() const override { return infos_; }
  const nlohmann::json& config() const override { return config_; }
  const GgufFile* gguf() const override { return &file_; }

  std::optional<TensorView> view(const std::string& name) const override {
    const Entry& e = entry(name);
    const GgufTensorInfo& t = file_.tensors()[e.gguf_index];
    const uint8_t* data = file_.raw(t);
    if (GgmlType(t.type) != GgmlType::F32 || e.permute_heads > 0 ||
        reinterpret_cast<uintptr_t>(data) % alignof(float) != 0) {
      return std::nullopt;
    }
    return TensorView{DType::F32, t.shape(), data};
  }

  void release(const std::string& name) const override {
    file_.release(file_.tensors()[entry(name).gguf_index]);
  }

  std::vector<float> read_f32(const std::string& name) const override {
    const Entry& e = entry(name);
    const GgufTensorInfo& t = file_.tensors()[e.gguf_index];
    std::vector<float> values = file_.dequantize(t);
    if (e.permute_heads == 0) return values;
    return unpermute_rows(values, t.shape()[0], e.permute_heads);
  }

 private:
  struct Entry {
    size_t gguf_index;      // into file_.tensors()
    int64_t permute_heads;  // 0: stored in Hugging Face layout
  };

  const Entry& entry(const std::string& name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) fail(file_.path(), ": no tensor named '", name, "'");
    return entries_[it->second];
  }

  GgufFile file_;
  const Architecture& arch_;
  nlohmann::json config_;
  std::vector<Entry> entries_;
  std::vector<TensorInfo> infos_;
  std::map<std::string, size_t> index_;
};

}  // namespace

std::unique_ptr<CheckpointReader> open_gguf_checkpoint(const std::string& path) {
  return std::make_unique<GgufCheckpoint>(path);
}

}  // namespace wquant
