// CheckpointReader: one interface over the checkpoint formats wquant reads
// (a safetensors file, a sharded safetensors directory, a GGUF file), so the
// quantization pipeline streams tensors without knowing the format.
//
// Tensor names are Hugging Face names ("model.layers.0.self_attn.q_proj.weight");
// a GGUF reader translates llama.cpp names and layouts to them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wquant/core/tensor.h"

namespace wquant {

class GgufFile;

struct TensorInfo {
  std::string name;          // Hugging Face name
  Shape shape;               // logical shape, row-major, Hugging Face order
  DType dtype;               // element type after decoding (F32 for GGUF block types)
  std::string stored_type;   // as stored: "BF16", "F32", "Q4_1", ...
  uint64_t stored_bytes = 0; // bytes the tensor occupies in the file
};

class CheckpointReader {
 public:
  virtual ~CheckpointReader() = default;

  // Returns the path the reader was opened on.
  virtual const std::string& path() const = 0;
  // Returns every tensor, in file order.
  virtual const std::vector<TensorInfo>& tensors() const = 0;
  // Returns the Hugging Face config.json (for GGUF: synthesised from its metadata).
  virtual const nlohmann::json& config() const = 0;
  // Returns a zero-copy view when the tensor is stored as a plain dtype in
  // Hugging Face layout, nullopt otherwise. Throws Error for unknown names.
  virtual std::optional<TensorView> view(const std::string& name) const = 0;
  // Returns the tensor decoded to f32 (converted, dequantized, re-laid out).
  virtual std::vector<float> read_f32(const std::string& name) const = 0;
  // Returns the files next to the weights to copy into a converted checkpoint
  // (tokenizer.json, tokenizer_config.json, generation_config.json, ...).
  virtual std::vector<std::string> side_files() const { return {}; }
  // Returns the GGUF file behind the reader, or nullptr for other formats
  // (its metadata also describes the tokenizer, which has no file of its own).
  virtual const GgufFile* gguf() const { return nullptr; }
  // Tells the reader the tensor will not be read again: a memory-mapped
  // reader drops its pages from the resident set. A hint; the default does nothing.
  virtual void release(const std::string& name) const {}

  // Returns the info for `name`. Throws Error naming the checkpoint if absent.
  const TensorInfo& info(const std::string& name) const;
  // Returns true if the checkpoint has a tensor called `name`.
  bool has(const std::string& name) const;
  // Returns config.json's "model_type", or "" when it has none (or not a string).
  std::string model_type() const;
};

// Opens a checkpoint: a *.safetensors file, a *.gguf file, or a directory
// holding model.safetensors, model.safetensors.index.json (sharded) or one
// *.gguf file. Throws Error naming the path and the problem.
std::unique_ptr<CheckpointReader> open_checkpoint(const std::string& path);

}  // namespace wquant
