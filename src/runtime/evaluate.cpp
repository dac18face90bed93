#include "wquant/runtime/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "wquant/core/error.h"

namespace wquant {
namespace {

// Writes log_softmax(logits) [n] to out, in double.
void log_softmax(const float* logits, int64_t n, std::vector<double>& out) {
  out.resize(size_t(n));
  const double m = *std::max_element(logits, logits + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(double(logits[i]) - m);
  const double log_z = m + std::log(sum);
  for (int64_t i = 0; i < n; ++i) out[size_t(i)] = double(logits[i]) - log_z;
}

int64_t argmax(const float* v, int64_t n) { return std::max_element(v, v + n) - v; }

}  // namespace

EvalResult evaluate(CausalLM& model, CausalLM* reference, const std::vector<int32_t>& tokens,
                    const EvalOptions& options, const EvalProgress& progress) {
  const int64_t ctx = options.context;
  if (ctx < 2) fail("evaluate: context ", ctx, " is below 2 tokens");
  if (ctx > model.context_length() || (reference && ctx > reference->context_length()))
    fail("evaluate: context ", ctx, " exceeds the model's ", model.context_length(), " tokens");
  int64_t chunks = int64_t(tokens.size()) / ctx;
  if (chunks == 0)
    fail("evaluate: the text has ", tokens.size(), " tokens, fewer than one chunk of ", ctx);
  if (options.max_chunks > 0) chunks = std::min(chunks, options.max_chunks);
  const int64_t vocab = model.config().vocab_size;
  if (reference && reference->config().vocab_size != vocab)
    fail("evaluate: the reference's vocabulary (", reference->config().vocab_size,
         ") differs from the model's (", vocab, ")");

  const auto start = std::chrono::steady_clock::now();
  EvalResult r;
  r.chunks = chunks;
  r.has_reference = reference != nullptr;
  std::vector<float> logits(size_t(ctx * vocab)), ref_logits;
  if (reference) ref_logits.resize(logits.size());
  std::vector<double> lp, ref_lp;
  double nll = 0, ref_nll = 0, kl = 0;
  int64_t agree = 0;
  for (int64_t c = 0; c < chunks; ++c) {
    const int32_t* chunk = tokens.data() + c * ctx;
    model.reset();
    if (options.token_by_token) {
      for (int64_t t = 0; t < ctx; ++t) model.forward(chunk + t, 1, logits.data() + t * vocab, false);
    } else {
      model.forward(chunk, ctx, logits.data(), true);
    }
    if (reference) {
      reference->reset();
      reference->forward(chunk, ctx, ref_logits.data(), true);
    }
    ChunkEval ce;
    for (int64_t t = 0; t + 1 < ctx; ++t) {  // position t predicts token t + 1
      const float* l = logits.data() + t * vocab;
      log_softmax(l, vocab, lp);
      ce.nll -= lp[size_t(chunk[t + 1])];
      if (reference) {
        const float* rl = ref_logits.data() + t * vocab;
        log_softmax(rl, vocab, ref_lp);
        ce.reference_nll -= ref_lp[size_t(chunk[t + 1])];
        double k = 0;
        for (int64_t v = 0; v < vocab; ++v)
          k += std::exp(ref_lp[size_t(v)]) * (ref_lp[size_t(v)] - lp[size_t(v)]);
        ce.mean_kl += k;
        ce.max_kl = std::max(ce.max_kl, k);
        ce.top1_agreement += argmax(l, vocab) == argmax(rl, vocab);
      }
      ++r.scored_tokens;
    }
    // Totals from the chunk's sums, then the chunk's own means.
    nll += ce.nll;
    ref_nll += ce.reference_nll;
    kl += ce.mean_kl;
    agree += int64_t(ce.top1_agreement);
    r.max_kl = std::max(r.max_kl, ce.max_kl);
    const double scored = double(ctx - 1);
    ce.nll /= scored, ce.reference_nll /= scored, ce.mean_kl /= scored, ce.top1_agreement /= scored;
    r.per_chunk.push_back(ce);
    if (progress) progress(c + 1, chunks);
  }
  const double n = double(r.scored_tokens);
  r.nll = nll / n;
  r.perplexity = std::exp(r.nll);
  if (reference) {
    r.reference_perplexity = std::exp(ref_nll / n);
    r.mean_kl = kl / n;
    r.top1_agreement = double(agree) / n;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace wquant
