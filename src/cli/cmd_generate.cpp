// wquant generate MODEL -p PROMPT [-n N] [--temp T] [--top-k K] [--top-p P] [--seed S]
// Streams the generated text to stdout; prompt and generation speed and the
// peak RSS go to stderr.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "commands.h"
#include "wquant/tokenizer/tokenizer.h"
#include "wquant/core/error.h"
#include "wquant/io/checkpoint.h"
#include "wquant/models/causal_lm.h"
#include "wquant/pipeline/quantize_model.h"
#include "wquant/runtime/generate.h"

namespace wquant::cli {
namespace {

struct GenerateArgs {
  std::string model, prompt, tokenizer, system;
  int64_t max_new_tokens = 64, context = 0;
  float temperature = 0, top_p = 1;
  int top_k = 0;
  uint64_t seed = 0;
  bool raw = false;
};

int run_generate(const GenerateArgs& a) {
  if (a.prompt.empty()) fail("generate: the prompt is empty (-p TEXT)");
  const auto ckpt = open_checkpoint(a.model);
  auto tokenizer = open_tokenizer(a.model, a.tokenizer);
  auto model = load_causal_lm(*ckpt, a.context);
  const std::string text = a.raw ? a.prompt : chatml_prompt(a.prompt, a.system);
  std::vector<int32_t> prompt = tokenizer->encode(text, true);
  GenerateOptions options;
  options.max_new_tokens = a.max_new_tokens;
  options.sampling = {a.temperature, a.top_k, a.top_p, a.seed};
  const GenerateResult r = generate(*model, *tokenizer, prompt, options, [](const std::string& piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  });
  std::printf("\n");
  std::fflush(stdout);
  const auto n = int64_t(r.tokens.size());
  std::fprintf(stderr,
               "prompt %lld tokens, %.1f tokens/s; generated %lld tokens, %.1f tokens/s%s; "
               "peak RSS %.1f MB\n",
               static_cast<long long>(r.prompt_tokens), r.prompt_tokens / std::max(r.prompt_seconds, 1e-9),
               static_cast<long long>(n), n / std::max(r.generate_seconds, 1e-9),
               r.stopped_at_eos ? " (end of sequence)" : "", peak_rss_bytes() / 1e6);
  return 0;
}

}  // namespace

Command add_generate_command(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "generate", "Generate text with a model (float, GGUF, or wquant's quantized output).");
  cmd->add_option("model", args->model, "model directory, .safetensors or .gguf file")->required();
  cmd->add_option("-p,--prompt", args->prompt, "the prompt")->required();
  cmd->add_option("-n,--max-new-tokens", args->max_new_tokens, "tokens to generate")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 30))->capture_default_str();
  cmd->add_option("--temp", args->temperature, "sampling temperature; 0 = greedy")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--top-k", args->top_k, "sample among the K most likely tokens (0: all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-p", args->top_p, "sample within the smallest set of probability >= P")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", args->seed, "random seed for sampling")->capture_default_str();
  cmd->add_option("--system", args->system, "system message for the chat template");
  cmd->add_flag("--raw", args->raw, "use the prompt as is, without the ChatML chat template");
  cmd->add_option("--tokenizer", args->tokenizer, "tokenizer.json or .gguf to use");
  add_threads_option(cmd);
  cmd->add_option("--context", args->context, "context length (default: the model's)");
  return [args]() { return run_generate(*args); };
}

}  // namespace wquant::cli
