// The model_type -> architecture table. Adding an architecture: one file in
// src/models/ and one line here.
#include "wquant/core/error.h"
#include "wquant/models/causal_lm.h"
#include "codegen.h"
#include "gemma.h"
#include "gpt2.h"
#include "llama.h"
#include "opt.h"
#include "phi3.h"
#include "qwen3.h"

namespace wquant {
namespace {

struct Entry {
  const char* model_type;
  std::unique_ptr<CausalLM> (*make)(const CheckpointReader&, int64_t);
};

constexpr Entry kModels[] = {
    {"llama", make_llama},
    {"mistral", make_llama},
    {"qwen2", make_llama},
    {"qwen3", make_qwen3},
    {"gemma", make_gemma},
    {"gemma2", make_gemma},
    {"gemma3_text", make_gemma},
    {"phi3", make_phi3},
    {"gpt2", make_gpt2},
    {"opt", make_opt},
    {"codegen", make_codegen},
};

}  // namespace

std::vector<std::string> supported_causal_lms() {
  std::vector<std::string> out;
  for (const auto& e : kModels) out.push_back(e.model_type);
  return out;
}

std::unique_ptr<CausalLM> load_causal_lm(const CheckpointReader& ckpt, int64_t context) {
  const std::string type = ckpt.model_type();
  for (const auto& e : kModels)
    if (type == e.model_type) return e.make(ckpt, context);
  std::string list;
  for (const auto& s : supported_causal_lms()) list += (list.empty() ? "" : ", ") + s;
  fail(ckpt.path(), ": model_type '", type, "' cannot be run (supported: ", list, ")");
}

}  // namespace wquant
