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

Generator::Generator(CausalLM& model, const Tokenizer& tokenizer, std::vector<int32_t> prompt,
                     const GenerateOptions& options)
    : model_(model), tokenizer_(tokenizer), prompt_(std::move(prompt)), options_(options),
      sampler_(options.sampling) {
  if (prompt_.empty()) fail("generate: the prompt is empty");
  const int64_t context = model.context_length();
  if (int64_t(prompt_.size()) + options.max_new_tokens > context)
    fail("generate: prompt of ", prompt_.size(), " tokens + ", options.max_new_tokens,
         " new tokens exceed the context of ", context, " tokens");
  logits_.resize(static_cast<size_t>(model.config().vocab_size));
  result_.prompt_tokens = int64_t(prompt_.size());
}

std::optional<std::string> Generator::next() {
  if (finished_) return std::nullopt;
  if (!started_) {
    started_ = true;
    model_.reset();
    const auto t0 = std::chrono::steady_clock::now();
    model_.forward(prompt_.data(), int64_t(prompt_.size()), logits_.data(), false);
    result_.prompt_seconds = seconds_since(t0);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t i = int64_t(result_.tokens.size());
  const auto eos = tokenizer_.eos_id();
  std::optional<std::string> piece;
  if (i < options_.max_new_tokens) {
    const int32_t token = sampler_.sample(logits_);
    if (options_.stop_at_eos && eos && token == *eos) {
      result_.stopped_at_eos = true;
    } else {
      result_.tokens.push_back(token);
      // Decode everything so far and hand out the new suffix: a multi-byte
      // character split over tokens comes out once complete.
      const std::string text = tokenizer_.decode(result_.tokens, true);
      piece = "";
      if (text.size() > emitted_.size() && text.compare(0, emitted_.size(), emitted_) == 0 &&
          !text.ends_with("\xEF\xBF\xBD")) {  // U+FFFD: a character still incomplete
        piece = text.substr(emitted_.size());
        emitted_ = text;
      }
      if (i + 1 < options_.max_new_tokens) model_.forward(&token, 1, logits_.data(), false);
    }
  }
  result_.generate_seconds += seconds_since(t0);
  if (piece) return piece;
  // Finished: whatever the last tokens left undecoded (an incomplete character's U+FFFD).
  finished_ = true;
  result_.text = tokenizer_.decode(result_.tokens, true);
  if (result_.text.size() > emitted_.size() && result_.text.compare(0, emitted_.size(), emitted_) == 0)
    return result_.text.substr(emitted_.size());
  return std::nullopt;
}

GenerateResult generate(CausalLM& model, const Tokenizer& tokenizer,
                        const std::vector<int32_t>& prompt, const GenerateOptions& options,
                        const TextCallback& on_text) {
  Generator g(model, tokenizer, prompt, options);
  while (const auto piece = g.next())
    if (on_text && !piece->empty()) on_text(*piece);
  return g.result();
}

}  // namespace wquant
