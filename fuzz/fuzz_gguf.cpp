// libFuzzer target: the GGUF reader (header, metadata, tensor infos), every
// dequantizer on the tensors it accepts, and the translation to a Hugging Face
// checkpoint (config.json from metadata, names, Q/K permutation).
#include "fuzz_input.h"
#include "wquant/core/error.h"
#include "wquant/io/checkpoint.h"
#include "wquant/io/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = wquant::fuzz::write_input("model.gguf", data, size);
  try {
    const wquant::GgufFile gguf(path);
    for (const auto& t : gguf.tensors())
      if (wquant::ggml_can_dequantize(t.type) && wquant::numel(t.shape()) <= (1 << 20)) gguf.dequantize(t);
  } catch (const wquant::Error&) {
  }
  try {
    const auto ckpt = wquant::open_checkpoint(path);
    for (const auto& t : ckpt->tensors())
      if (wquant::numel(t.shape) <= (1 << 20)) ckpt->read_f32(t.name);
  } catch (const wquant::Error&) {
  }
  return 0;
}
