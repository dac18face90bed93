// wquant eval MODEL --text FILE [--reference FLOAT_MODEL] [--context N] [--chunks N]
//            [--token-by-token]
// Perplexity of MODEL on the text, and against the reference the mean KL
// divergence, top-1 agreement and delta perplexity, with a progress bar.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "commands.h"
#include "progress.h"
#include "wquant/tokenizer/tokenizer.h"
#include "wquant/core/error.h"
#include "wquant/io/checkpoint.h"
#include "wquant/pipeline/quantize_model.h"
#include "wquant/io/html_chart.h"
#include "wquant/runtime/eval_report.h"
#include "wquant/runtime/evaluate.h"

namespace wquant::cli {
namespace {

struct EvalArgs {
  std::string model, text, reference, tokenizer;
  int64_t context = 256, chunks = 0;
  bool token_by_token = false;
  std::string report;  // --report FILE.html
  bool json = false;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  if (s.str().empty()) fail(path, ": the text is empty");
  return s.str();
}

int run_eval(const EvalArgs& a) {
  if (!a.report.empty()) html::check_page_path(a.report);
  const std::string text = read_text(a.text);
  const auto ckpt = open_checkpoint(a.model);
  auto tokenizer = open_tokenizer(a.model, a.tokenizer);
  const std::vector<int32_t> tokens = tokenizer->encode(text, false);
  auto model = load_causal_lm(*ckpt, 0);
  std::unique_ptr<CheckpointReader> ref_ckpt;
  std::unique_ptr<CausalLM> reference;
  if (!a.reference.empty()) {
    ref_ckpt = open_checkpoint(a.reference);
    reference = load_causal_lm(*ref_ckpt, 0);
  }
  EvalOptions options{a.context, a.chunks, a.token_by_token};
  ProgressBar bar(true);
  const EvalResult r = evaluate(*model, reference.get(), tokens, options, [&](int64_t done, int64_t total) {
    bar.update(size_t(done), size_t(total), "chunks");
  });
  bar.finish();
  const double rss_mb = peak_rss_bytes() / 1e6;
  if (!a.report.empty())
    write_eval_report_html(r, {a.model, a.reference, a.text, int64_t(tokens.size()), a.context}, a.report);
  if (a.json) {
    nlohmann::json j = {{"model", a.model}, {"text", a.text}, {"text_tokens", tokens.size()},
                        {"context", a.context}, {"chunks", r.chunks},
                        {"token_by_token", a.token_by_token},
                        {"scored_tokens", r.scored_tokens}, {"perplexity", r.perplexity},
                        {"nll", r.nll}, {"seconds", r.seconds}, {"peak_rss_mb", rss_mb}};
    if (r.has_reference) {
      j["reference"] = a.reference;
      j["reference_perplexity"] = r.reference_perplexity;
      j["delta_perplexity"] = r.perplexity - r.reference_perplexity;
      j["mean_kl"] = r.mean_kl;
      j["max_kl"] = r.max_kl;
      j["top1_agreement"] = r.top1_agreement;
    }
    nlohmann::json windows = nlohmann::json::array();
    for (const auto& c : r.per_chunk) {
      nlohmann::json w = {{"perplexity", std::exp(c.nll)}};
      if (r.has_reference)
        w.update({{"reference_perplexity", std::exp(c.reference_nll)}, {"mean_kl", c.mean_kl},
                  {"max_kl", c.max_kl}, {"top1_agreement", c.top1_agreement}});
      windows.push_back(w);
    }
    j["windows"] = windows;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("text           %s: %zu tokens, %lld chunks of %lld, %lld tokens scored\n",
              a.text.c_str(), tokens.size(), static_cast<long long>(r.chunks),
              static_cast<long long>(a.context), static_cast<long long>(r.scored_tokens));
  if (a.token_by_token) std::printf("mode           token by token (the decode kernels)\n");
  std::printf("perplexity     %.4f\n", r.perplexity);
  if (r.has_reference) {
    std::printf("reference      %.4f (%s)\n", r.reference_perplexity, a.reference.c_str());
    std::printf("delta ppl      %+.4f (%+.2f%%)\n", r.perplexity - r.reference_perplexity,
                100.0 * (r.perplexity / r.reference_perplexity - 1));
    std::printf("mean KL        %.6f nats (max %.4f)\n", r.mean_kl, r.max_kl);
    std::printf("top-1 agree    %.2f%%\n", 100.0 * r.top1_agreement);
  }
  std::printf("time           %.1f s, %.1f tokens/s, peak RSS %.1f MB\n", r.seconds,
              double(r.chunks * a.context) / r.seconds, rss_mb);
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Perplexity on a text; with --reference, KL divergence and top-1 agreement too.");
  cmd->add_option("model", args->model, "model directory, .safetensors or .gguf file")->required();
  cmd->add_option("--text", args->text, "UTF-8 text file to evaluate on")->required();
  cmd->add_option("--reference", args->reference, "the float model to compare against");
  cmd->add_option("--context", args->context, "tokens per chunk")->check(CLI::Range(2, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--chunks", args->chunks, "evaluate at most N chunks (0: all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--tokenizer", args->tokenizer, "tokenizer.json or .gguf to use");
  cmd->add_flag("--token-by-token", args->token_by_token,
                "run the model one token at a time through its KV cache, as generation does (the "
                "decode kernels, 16-bit activations) instead of one batched pass per chunk (f32 "
                "activations); the reference stays batched");
  add_threads_option(cmd);
  cmd->add_flag("--json", args->json, "print JSON (with each window's figures)");
  cmd->add_option("--report", args->report,
                  "also write FILE.html: a self-contained page of charts (perplexity per window; with "
                  "--reference, KL divergence and top-1 agreement per window)")
      ->type_name("FILE.html");
  return [args]() { return run_eval(*args); };
}

}  // namespace wquant::cli
