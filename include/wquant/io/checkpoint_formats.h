// Format-specific entry points behind open_checkpoint().
#pragma once

#include <memory>
#include <string>

#include "wquant/io/checkpoint.h"

namespace wquant {

// Opens a *.safetensors file, or a directory with model.safetensors or
// model.safetensors.index.json; config.json is read from the directory
// (the file's directory for a single file). Throws Error naming the path.
std::unique_ptr<CheckpointReader> open_safetensors_checkpoint(const std::string& path);

// Opens a *.gguf file, presenting Hugging Face names and layouts and a
// config.json synthesised from the GGUF metadata. Throws Error naming the path.
std::unique_ptr<CheckpointReader> open_gguf_checkpoint(const std::string& path);

}  // namespace wquant
