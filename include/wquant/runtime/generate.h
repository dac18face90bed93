// Text generation with a CausalLM and a Tokenizer: prompt processing, then
// one token at a time through the KV cache, stopping at end-of-sequence.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wquant/models/causal_lm.h"
#include "wquant/runtime/sampler.h"
#include "wquant/tokenizer/tokenizer.h"

namespace wquant {

struct GenerateOptions {
  int64_t max_new_tokens = 64;
  SamplingOptions sampling;
  bool stop_at_eos = true;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (the end-of-sequence id excluded)
  std::string text;             // their decoded text
  int64_t prompt_tokens = 0;
  double prompt_seconds = 0, generate_seconds = 0;
  bool stopped_at_eos = false;
};

// Called with each new piece of decoded text as it is generated.
using TextCallback = std::function<void(const std::string&)>;

// Generates from `prompt` (ids, already templated and encoded). Throws Error
// for an empty prompt, or one that does not fit the model's context together
// with max_new_tokens (naming both lengths): nothing is truncated silently.
GenerateResult generate(CausalLM& model, const Tokenizer& tokenizer,
                        const std::vector<int32_t>& prompt, const GenerateOptions& options,
                        const TextCallback& on_text = {});

// Returns `user` wrapped in the ChatML template of instruct models such as
// SmolLM2 ("<|im_start|>user\n...<|im_end|>\n<|im_start|>assistant\n"),
// with an optional system message first.
std::string chatml_prompt(const std::string& user, const std::string& system = "");

}  // namespace wquant
