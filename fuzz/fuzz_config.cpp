// libFuzzer target: config.json as each architecture family reads it, and
// its compressed-tensors quantization_config.
#include <nlohmann/json.hpp>

#include "wquant/core/error.h"
#include "wquant/models/config.h"
#include "wquant/models/linear.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json c = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (c.is_discarded()) return 0;
  try {
    wquant::llama_config_from_json(c, "config.json");
  } catch (const wquant::Error&) {
  }
  try {
    wquant::gpt_style_config_from_json(c, "config.json", true);
  } catch (const wquant::Error&) {
  }
  try {
    if (c.is_object()) {
      const wquant::QuantizationInfo q(c, "config.json");
      q.scheme_for("model.layers.0.self_attn.q_proj");
    }
  } catch (const wquant::Error&) {
  }
  return 0;
}
