#include "wquant/runtime/generate.h"

#include <chrono>

#include "wquant/core/error.h"

namespace wquant {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

std::string chatml_prompt(const std::string& user, const std::string& system) {
  std::string p;
  if (!system.empty()) p += "<|im_start|>system\n" + system + "<|im_end|>\n";
  return p + "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n";
}

GenerateResult generate(CausalLM& model, const Tokenizer& tokenizer,
                        const std::vector<int32_t>& prompt, const GenerateOptions& options,
                        const TextCallback& on_text) {
  if (prompt.empty()) fail("generate: the prompt is empty");
  const int64_t context = model.context_length();
  if (int64_t(prompt.size()) + options.max_new_tokens > context)
    fail("generate: prompt of ", prompt.size(), " tokens + ", options.max_new_tokens,
         " new tokens exceed the context of ", context, " tokens");
  Sampler sampler(options.sampling);
  const int64_t vocab = model.config().vocab_size;
  std::vector<float> logits(static_cast<size_t>(vocab));
  GenerateResult r;
  r.prompt_tokens = int64_t(prompt.size());

  model.reset();
  auto t0 = std::chrono::steady_clock::now();
  model.forward(prompt.data(), int64_t(prompt.size()), logits.data(), false);
  r.prompt_seconds = seconds_since(t0);

  const auto eos = tokenizer.eos_id();
  t0 = std::chrono::steady_clock::now();
  std::string printed;
  for (int64_t i = 0; i < options.max_new_tokens; ++i) {
    const int32_t next = sampler.sample(logits);
    if (options.stop_at_eos && eos && next == *eos) {
      r.stopped_at_eos = true;
      break;
    }
    r.tokens.push_back(next);
    // Decode everything so far and emit the new suffix: a multi-byte
    // character split over tokens is emitted once complete.
    const std::string text = tokenizer.decode(r.tokens, true);
    if (text.size() > printed.size() && text.compare(0, printed.size(), printed) == 0 &&
        !text.ends_with("\xEF\xBF\xBD")) {  // U+FFFD: a character still incomplete
      if (on_text) on_text(text.substr(printed.size()));
      printed = text;
    }
    if (i + 1 < options.max_new_tokens) model.forward(&next, 1, logits.data(), false);
  }
  r.generate_seconds = seconds_since(t0);
  r.text = tokenizer.decode(r.tokens, true);
  if (on_text && r.text.size() > printed.size() && r.text.compare(0, printed.size(), printed) == 0)
    on_text(r.text.substr(printed.size()));
  return r;
}

}  // namespace wquant
