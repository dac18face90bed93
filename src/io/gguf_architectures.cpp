// llama.cpp -> Hugging Face tensor names per architecture, as
// convert_hf_to_gguf.py maps them (gguf-py's tensor_mapping.py, restricted
// to the tensors each architecture's MODEL_TENSORS list has). The same
// llama.cpp name can mean different Hugging Face tensors: "ffn_norm" is
// llama's post_attention_layernorm (the norm before the MLP) but gemma 2 / 3's
// pre_feedforward_layernorm, whose post_attention_layernorm is the norm of the
// attention output ("post_attention_norm").
#include "gguf_architectures.h"

#include "wquant/core/error.h"

namespace wquant {
namespace {

// llama, mistral, qwen2 (q/k/v biases), gemma (1).
constexpr NamePair kLlamaLayer[] = {
    {"attn_norm", "input_layernorm"},
    {"attn_q", "self_attn.q_proj"},
    {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},
    {"attn_output", "self_attn.o_proj"},
    {"ffn_norm", "post_attention_layernorm"},
    {"ffn_gate", "mlp.gate_proj"},
    {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
};

// llama's layer with a per-head RMSNorm of the queries and keys.
constexpr NamePair kQwen3Layer[] = {
    {"attn_norm", "input_layernorm"},
    {"attn_q", "self_attn.q_proj"},
    {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},
    {"attn_q_norm", "self_attn.q_norm"},
    {"attn_k_norm", "self_attn.k_norm"},
    {"attn_output", "self_attn.o_proj"},
    {"ffn_norm", "post_attention_layernorm"},
    {"ffn_gate", "mlp.gate_proj"},
    {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
};

// Gemma 2's "sandwich" norms around the attention and the MLP.
constexpr NamePair kGemma2Layer[] = {
    {"attn_norm", "input_layernorm"},
    {"attn_q", "self_attn.q_proj"},
    {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},
    {"attn_output", "self_attn.o_proj"},
    {"post_attention_norm", "post_attention_layernorm"},
    {"ffn_norm", "pre_feedforward_layernorm"},
    {"ffn_gate", "mlp.gate_proj"},
    {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
    {"post_ffw_norm", "post_feedforward_layernorm"},
};

// Gemma 2's layer with gemma 3's per-head q / k norms.
constexpr NamePair kGemma3Layer[] = {
    {"attn_norm", "input_layernorm"},
    {"attn_q", "self_attn.q_proj"},
    {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},
    {"attn_q_norm", "self_attn.q_norm"},
    {"attn_k_norm", "self_attn.k_norm"},
    {"attn_output", "self_attn.o_proj"},
    {"post_attention_norm", "post_attention_layernorm"},
    {"ffn_norm", "pre_feedforward_layernorm"},
    {"ffn_gate", "mlp.gate_proj"},
    {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
    {"post_ffw_norm", "post_feedforward_layernorm"},
};

// Phi-3 keeps its fused projections: attn_qkv is q | k | v rows and ffn_up is
// gate | up rows (tensor_mapping.py maps mlp.gate_up_proj to FFN_UP).
constexpr NamePair kPhi3Layer[] = {
    {"attn_norm", "input_layernorm"},
    {"attn_qkv", "self_attn.qkv_proj"},
    {"attn_output", "self_attn.o_proj"},
    {"ffn_norm", "post_attention_layernorm"},
    {"ffn_up", "mlp.gate_up_proj"},
    {"ffn_down", "mlp.down_proj"},
};

constexpr GgufArchitecture kArchitectures[] = {
    {"llama", "llama", "LlamaForCausalLM", kLlamaLayer, true, 0},
    {"qwen2", "qwen2", "Qwen2ForCausalLM", kLlamaLayer, false, 0},
    {"qwen3", "qwen3", "Qwen3ForCausalLM", kQwen3Layer, false, 0},
    {"gemma", "gemma", "GemmaForCausalLM", kLlamaLayer, false, 1},
    {"gemma2", "gemma2", "Gemma2ForCausalLM", kGemma2Layer, false, 1},
    {"gemma3", "gemma3_text", "Gemma3ForCausalLM", kGemma3Layer, false, 1},
    {"phi3", "phi3", "Phi3ForCausalLM", kPhi3Layer, false, 0},
};
constexpr std::string_view kSupported = "llama, qwen2, qwen3, gemma, gemma2, gemma3, phi3";

// Whole-model tensors: "<gguf>.weight" -> "<hf>.weight". output.weight is
// absent when lm_head is tied to the embeddings.
constexpr NamePair kModelNames[] = {
    {"token_embd", "model.embed_tokens"},
    {"output_norm", "model.norm"},
    {"output", "lm_head"},
};
constexpr std::string_view kRequiredModelTensors[] = {"token_embd.weight", "output_norm.weight"};

// Returns the layer-table name of "blk.N.<part>" (N a decimal number) with
// `layer` set to N, or "" for any other base name.
std::string_view layer_part(std::string_view base, std::string_view& layer) {
  if (!base.starts_with("blk.")) return "";
  const std::string_view rest = base.substr(4);
  const size_t layer_end = rest.find('.');
  if (layer_end == 0 || layer_end == std::string_view::npos) return "";
  layer = rest.substr(0, layer_end);
  if (layer.find_first_not_of("0123456789") != std::string_view::npos) return "";
  return rest.substr(layer_end + 1);
}

}  // namespace

const GgufArchitecture& find_gguf_architecture(const GgufFile& file) {
  const auto it = file.metadata().find("general.architecture");
  if (it == file.metadata().end() || !std::holds_alternative<std::string>(it->second)) {
    fail(file.path(), ": metadata 'general.architecture' missing or not a string");
  }
  const std::string& name = std::get<std::string>(it->second);
  for (const GgufArchitecture& a : kArchitectures) {
    if (name == a.gguf_name) return a;
  }
  fail(file.path(), ": unsupported architecture '", printable(name), "' (supported: ", kSupported,
       ")");
}

std::string hf_tensor_name(const GgufArchitecture& arch, const std::string& gguf) {
  const size_t dot = gguf.rfind('.');
  if (dot == std::string::npos) return "";
  const std::string_view base = std::string_view(gguf).substr(0, dot);
  const std::string_view suffix = std::string_view(gguf).substr(dot);  // ".weight"
  if (suffix != ".weight" && suffix != ".bias") return "";
  for (const NamePair& p : kModelNames) {
    if (base == p.gguf) return cat(p.hf, suffix);
  }
  std::string_view layer;
  const std::string_view part = layer_part(base, layer);
  for (const NamePair& p : arch.layer_names) {
    if (!part.empty() && part == p.gguf) return cat("model.layers.", layer, ".", p.hf, suffix);
  }
  return "";
}

void check_required_tensors(const GgufFile& file, const GgufArchitecture& arch, int64_t layers) {
  for (const std::string_view name : kRequiredModelTensors) {
    if (!file.find(std::string(name))) {
      fail(file.path(), ": tensor '", name, "' missing (architecture '", arch.gguf_name, "')");
    }
  }
  for (int64_t i = 0; i < layers; ++i) {
    for (const NamePair& p : arch.layer_names) {
      const std::string name = cat("blk.", i, ".", p.gguf, ".weight");
      if (!file.find(name)) {
        fail(file.path(), ": tensor '", name, "' (", hf_tensor_name(arch, name),
             ") missing: architecture '", arch.gguf_name, "' needs it in each of the ", layers,
             " layers");
      }
    }
  }
}

}  // namespace wquant
