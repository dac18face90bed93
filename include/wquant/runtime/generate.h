// Text generation with a CausalLM and a Tokenizer: prompt processing, then
// one token at a time through the KV cache, stopping at end-of-sequence.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
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

// Generation pulled one token at a time (the Python package's iterator;
// generate() below is a loop over it). The model's cache is reset and the
// prompt runs on the first call of next().
class Generator {
 public:
  // Throws Error as generate() does. model and tokenizer must outlive this.
  Generator(CausalLM& model, const Tokenizer& tokenizer, std::vector<int32_t> prompt,
            const GenerateOptions& options);
  // Generates one token and returns the text it completes: "" while a
  // character spans tokens, the rest once it is whole; nullopt once
  // max_new_tokens are out or end-of-sequence came (then result() is final).
  std::optional<std::string> next();
  // Returns what has been generated so far (text: once finished).
  const GenerateResult& result() const { return result_; }
  bool finished() const { return finished_; }

 private:
  CausalLM& model_;
  const Tokenizer& tokenizer_;
  std::vector<int32_t> prompt_;
  GenerateOptions options_;
  Sampler sampler_;
  std::vector<float> logits_;
  GenerateResult result_;
  std::string emitted_;  // decoded text handed out so far
  bool started_ = false, finished_ = false;
};

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
