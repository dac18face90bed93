// gguf_dequant IN.gguf OUT.safetensors
//
// Writes every tensor of a GGUF file, whatever its architecture, dequantized
// by wquant's ggml dequantizers (dequantize_ggml) to f32 under its GGUF name,
// shape row-major (the GGUF dims reversed), no renaming or permutation. The
// Python oracle test compares it with the `gguf` package's dequantizers.
// Exits 1 with one line on stderr on failure.
#include <iostream>

#include "wquant/core/error.h"
#include "wquant/io/gguf.h"
#include "wquant/io/safetensors.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: gguf_dequant IN.gguf OUT.safetensors\n";
    return 2;
  }
  try {
    const wquant::GgufFile gguf(argv[1]);
    std::vector<wquant::TensorSpec> specs;
    for (const auto& t : gguf.tensors()) specs.push_back({t.name, wquant::DType::F32, t.shape()});
    wquant::SafetensorsWriter writer(argv[2], specs, {{"format", "pt"}});
    for (const auto& t : gguf.tensors()) {
      const std::vector<float> values = gguf.dequantize(t);
      writer.write(t.name, values.data(), values.size() * sizeof(float));
      gguf.release(t);
    }
    writer.finish();
  } catch (const wquant::Error& e) {
    std::cerr << "gguf_dequant: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
