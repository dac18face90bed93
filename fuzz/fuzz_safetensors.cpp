// libFuzzer target: the safetensors reader (header JSON, dtypes, shapes,
// offsets), then every tensor read as f32 through the checkpoint layer.
#include "fuzz_input.h"
#include "wquant/core/error.h"
#include "wquant/io/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = wquant::fuzz::write_input("model.safetensors", data, size);
  try {
    const auto ckpt = wquant::open_checkpoint(path);
    for (const auto& t : ckpt->tensors())
      if (wquant::is_float(t.dtype) && wquant::numel(t.shape) <= (1 << 20)) ckpt->read_f32(t.name);
  } catch (const wquant::Error&) {
  }
  return 0;
}
