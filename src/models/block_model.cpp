#include "wquant/models/block_model.h"

#include <algorithm>

#include "wquant/core/error.h"
#include "wquant/models/causal_lm.h"
#include "wquant/models/encoder.h"

namespace wquant {

std::vector<std::string> supported_block_models() {
  std::vector<std::string> out = supported_causal_lms();
  for (const auto& e : supported_encoders()) out.push_back(e);
  return out;
}

std::unique_ptr<BlockModel> load_block_model(const CheckpointReader& ckpt, int64_t context) {
  const std::string type = ckpt.model_type();
  const auto encoders = supported_encoders();
  if (std::find(encoders.begin(), encoders.end(), type) != encoders.end()) return load_encoder(ckpt);
  const auto decoders = supported_causal_lms();
  if (std::find(decoders.begin(), decoders.end(), type) != decoders.end()) return load_causal_lm(ckpt, context);
  std::string list;
  for (const auto& s : supported_block_models()) list += (list.empty() ? "" : ", ") + s;
  fail(ckpt.path(), ": model_type '", type, "' cannot be run (supported: ", list, ")");
}

}  // namespace wquant
