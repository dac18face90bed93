// The GGUF architectures wquant reads as Hugging Face checkpoints, as
// llama.cpp's convert_hf_to_gguf.py writes them: per architecture, the
// llama.cpp -> Hugging Face tensor names, the value transforms the converter
// applied (to undo), and the config.json synthesised from the metadata.
// Internal to src/io; gguf_checkpoint.cpp is the reader built on it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "wquant/io/gguf.h"

namespace wquant {

struct NamePair {
  std::string_view gguf, hf;
};

struct GgufArchitecture {
  std::string_view gguf_name;   // general.architecture, and the metadata key prefix
  std::string_view model_type;  // config.json model_type
  std::string_view hf_class;    // config.json architectures[0]
  // Per-layer tensors: "blk.N.<gguf>.weight" -> "model.layers.N.<hf>.weight"
  // (".bias" likewise). Every ".weight" listed must be in the file.
  std::span<const NamePair> layer_names;
  // convert_hf_to_gguf.py's LlamaModel.permute reorders the rows of q_proj and
  // k_proj (weight and bias) inside each head, from Hugging Face's rotary
  // layout (two halves) to GGML's (interleaved pairs); it must be undone.
  bool permuted_qk;
  // Added by the converter to every "*norm.weight" (gemma 1-3's RMSNorm
  // scales by 1 + w and llama.cpp's by w: GemmaModel / Gemma2Model /
  // Gemma3Model.modify_tensors store w + 1); subtracted on read.
  float norm_offset;
};

// Returns the architecture named by general.architecture. Throws Error naming
// the file for a missing name or one not supported.
const GgufArchitecture& find_gguf_architecture(const GgufFile& file);

// Returns the Hugging Face name for a llama.cpp tensor name, or "" if it has
// none in this architecture.
std::string hf_tensor_name(const GgufArchitecture& arch, const std::string& gguf);

// Throws Error naming the file and the first tensor the architecture needs
// that is missing (token_embd, output_norm, and every layer's ".weight"s for
// `layers` layers).
void check_required_tensors(const GgufFile& file, const GgufArchitecture& arch, int64_t layers);

// Returns config.json for the model (gguf_config.cpp): the keys transformers'
// GGUF loader derives (integrations/ggml.py GGUF_CONFIG_MAPPING), those a
// Hugging Face checkpoint of the architecture carries, and, where the GGUF
// has no key for a value, the value llama.cpp itself assumes.
nlohmann::json make_hf_config(const GgufFile& file, const GgufArchitecture& arch);

}  // namespace wquant
