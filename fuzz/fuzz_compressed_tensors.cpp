// libFuzzer target: wquant's reader of quantized checkpoints, a directory of
// config.json (its quantization_config) and model.safetensors (packed
// weights, scales, zero points, weight_shape). Input: a little-endian u32
// n, then n bytes of config.json, then the safetensors file. Every layer the
// file has a weight_shape for is loaded as Linear (unpacked to the kernels'
// layout) and one row read back.
#include <cstring>
#include <vector>

#include "fuzz_input.h"
#include "wquant/core/error.h"
#include "wquant/io/checkpoint.h"
#include "wquant/models/linear.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  uint32_t n;
  std::memcpy(&n, data, 4);
  if (n > size - 4) return 0;
  wquant::fuzz::write_input("config.json", data + 4, n);
  wquant::fuzz::write_input("model.safetensors", data + 4 + n, size - 4 - n);
  try {
    const auto ckpt = wquant::open_checkpoint(wquant::fuzz::input_dir());
    const wquant::QuantizationInfo quant(ckpt->config(), ckpt->path());
    const std::string suffix = ".weight_shape";
    for (const auto& t : ckpt->tensors()) {
      if (t.name.size() <= suffix.size() || t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix))
        continue;
      const auto view = ckpt->view(t.name);
      if (!view || wquant::numel(t.shape) != 2) continue;
      int64_t out = 0, in = 0;
      if (t.dtype == wquant::DType::I64) {
        std::memcpy(&out, view->data, 8);
        std::memcpy(&in, static_cast<const uint8_t*>(view->data) + 8, 8);
      } else if (t.dtype == wquant::DType::I32) {
        int32_t v[2];
        std::memcpy(v, view->data, 8);
        out = v[0], in = v[1];
      } else {
        continue;
      }
      if (out <= 0 || in <= 0 || out > (1 << 20) || in > (1 << 20) || out * in > (1 << 20)) continue;
      const std::string layer = t.name.substr(0, t.name.size() - suffix.size());
      const auto linear = wquant::Linear::load(*ckpt, quant, layer, out, in, false);
      std::vector<float> row(static_cast<size_t>(in));
      linear.row(0, row.data());
    }
  } catch (const wquant::Error&) {
  }
  return 0;
}
