#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>

#include "parts.h"
#include "wquant/calibrate/calibrate.h"
#include "wquant/core/error.h"
#include "wquant/pipeline/compressed_tensors.h"

namespace wquant {

using namespace calibration;

namespace {

// The relative squared error of `d` (w's dequantized grid, [rows, cols])
// against w, rows weighted by row_weight (nullptr: alike).
double weight_cost(const std::vector<float>& w, const std::vector<float>& d, int64_t rows, int64_t cols,
                   const std::vector<double>* row_weight) {
  double e = 0, total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const double k = row_weight ? (*row_weight)[size_t(r)] : 1.0;
    if (k == 0) continue;
    double er = 0, tr = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const double wv = w[size_t(r * cols + c)], dv = wv - d[size_t(r * cols + c)];
      er += dv * dv, tr += wv * wv;
    }
    e += k * er, total += k * tr;
  }
  return total > 0 ? e / total : 0.0;
}

// Returns w [out, in] of a planned tensor as the writer quantizes it.
std::vector<float> planned_weight(const CheckpointReader& ckpt, const TensorPlan& t) {
  std::vector<float> w = ckpt.read_f32(t.tensor);
  ckpt.release(t.tensor);
  if (!t.cls.transposed) return w;
  const int64_t r = t.shape[0], c = t.shape[1];
  std::vector<float> out(w.size());
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) out[size_t(j * r + i)] = w[size_t(i * c + j)];
  return out;
}


// Rows [n, vocab] of logits -> log-probabilities, in place.
void log_softmax_rows(float* x, int64_t n, int64_t vocab) {
  for (int64_t t = 0; t < n; ++t) {
    float* row = x + t * vocab;
    const float m = *std::max_element(row, row + vocab);
    double s = 0;
    for (int64_t v = 0; v < vocab; ++v) s += std::exp(double(row[v]) - m);
    const float lse = m + float(std::log(s));
    for (int64_t v = 0; v < vocab; ++v) row[v] -= lse;
  }
}

// Mean over positions of KL(reference || softmax(logits)); logits [n, vocab]
// are overwritten.
double mean_kl(const std::vector<float>& ref_logp, float* logits, int64_t n, int64_t vocab) {
  log_softmax_rows(logits, n, vocab);
  double total = 0;
  for (int64_t i = 0; i < n * vocab; ++i) {
    const double p = std::exp(double(ref_logp[size_t(i)]));
    total += p * (double(ref_logp[size_t(i)]) - double(logits[i]));
  }
  return total / double(n);
}

// One layer's figures: the relative squared error of every option, and
// the probe (the option of median size) whose effect on the model's output
// is measured, as a dequantized weight.
struct Measured {
  std::vector<double> rel;
  size_t probe = SIZE_MAX;
  std::vector<float> probe_weight;
  int64_t rows = 0, cols = 0;
  double kl = -1;  // the estimated KL divergence the probe causes; < 0: not measured
};

double sum_squared_difference(const float* a, const float* b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += (double(a[i]) - double(b[i])) * (double(a[i]) - double(b[i]));
  return s;
}

}  // namespace

LayerCosts measure_costs(const CheckpointReader& ckpt, const Plan& plan, const std::vector<int32_t>& tokens,
                         const CalibrationOptions& options, const std::vector<BudgetOption>& budget,
                         int64_t max_windows, int64_t kl_windows, int64_t kl_tokens,
                         const CalibrationProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  Session session = open_session(ckpt, tokens, options, max_windows);
  BlockModel* model = session.model.get();
  std::set<std::string> planned;
  std::map<std::string, const TensorPlan*> plan_of;
  for (const auto& t : plan.tensors)
    if (t.quantize) planned.insert(t.layer), plan_of[t.layer] = &t;

  LayerCosts result;
  result.windows = session.windows;
  result.tokens = session.windows * session.context;
  const int64_t L = session.context, width = session.width, blocks = model->num_blocks();
  const int64_t vocab = model->head_vocab();
  if (vocab <= 0)
    fail(ckpt.path(), ": --target-size measures the KL divergence of the next-token distribution, and this ",
         "model has no language-model head; choose the schemes with --bits / --group-size / --override");
  // KL runs: the first K tokens of the first kl_n windows (causal: the same
  // states as in the whole windows).
  const int64_t kl_n = std::clamp<int64_t>(kl_windows, 1, session.windows);
  const int64_t K = std::clamp<int64_t>(kl_tokens, 1, L);
  const size_t kl_floats = size_t(K * width);
  result.kl_windows = kl_n;
  result.kl_tokens = K;
  auto kl_states = [&] {  // the first K tokens' states of the KL windows, now
    std::vector<float> states(size_t(kl_n) * kl_floats);
    for (int64_t w = 0; w < kl_n; ++w) std::copy_n(session.window(w), kl_floats, states.data() + size_t(w) * kl_floats);
    return states;
  };
  // Token counts of the cost windows, for the embeddings' lookup error.
  std::vector<double> counts(size_t(std::max<int64_t>(vocab, 0)), 0.0);
  for (int64_t i = 0; i < result.tokens; ++i)
    if (tokens[size_t(i)] >= 0 && tokens[size_t(i)] < vocab) counts[size_t(tokens[size_t(i)])] += 1;
  auto is_lookup = [&](const TensorPlan& t) { return t.cls.role == TensorRole::Embedding && t.shape[0] == vocab; };
  const size_t step_total = size_t(blocks + 3);
  size_t steps = 0;
  ThreadPool pool;

  // The float model's log-probabilities on the KL windows.
  std::vector<std::vector<float>> reference;
  reference.resize(size_t(kl_n));
  std::vector<float> logits(size_t(L * vocab));
  for (int64_t w = 0; w < kl_n; ++w) {
    std::vector<float> h(session.window(w), session.window(w) + kl_floats);
    for (int64_t b = 0; b < blocks; ++b) model->block_window(b, h.data(), K);
    reference[size_t(w)].resize(size_t(K * vocab));
    model->head_window(h.data(), K, reference[size_t(w)].data());
    log_softmax_rows(reference[size_t(w)].data(), K, vocab);
  }
  if (progress) progress(++steps, step_total, "reference");
  // Mean KL divergence from the reference of the KL windows' states
  // [kl_n windows] before block `first`, run to the logits under `hook`.
  auto kl_from = [&](int64_t first, std::vector<float> states, LinearHook* hook) {
    ScopedLinearHook scope(hook);
    double total = 0;
    for (int64_t w = 0; w < kl_n; ++w) {
      float* h = states.data() + size_t(w) * kl_floats;
      for (int64_t b = first; b < blocks; ++b) model->block_window(b, h, K);
      model->head_window(h, K, logits.data());
      total += mean_kl(reference[size_t(w)], logits.data(), K, vocab);
    }
    return total / double(kl_n);
  };

  // Every option of one layer on the mse grid (weighted by `importance` if
  // given): relative squared output error under `h`, or weight error.
  auto measure = [&](const TensorPlan& t, const std::vector<float>& w, const std::vector<double>* h,
                     const float* importance, const std::vector<double>* row_weight) {
    Measured m;
    m.rows = t.cls.transposed ? t.shape[1] : t.shape[0];
    m.cols = int64_t(w.size()) / m.rows;
    m.rel.assign(budget.size(), -1.0);
    std::vector<std::pair<uint64_t, size_t>> sizes;  // (bytes, option) of the quantized options
    std::vector<std::optional<QuantScheme>> schemes(budget.size());
    for (size_t o = 0; o < budget.size(); ++o) {
      if (budget[o].keep_float) {
        m.rel[o] = 0;
        continue;
      }
      schemes[o] = fitted_scheme(t, budget[o].scheme);
      if (schemes[o]) sizes.push_back({packed_layer_bytes(m.rows, m.cols, *schemes[o], plan.float_dtype), o});
    }
    std::sort(sizes.begin(), sizes.end());
    if (!sizes.empty()) m.probe = sizes[(sizes.size() - 1) / 2].second;
    // H in f32 and ||W X||^2 once per layer, not per option.
    const std::vector<float> hf = h ? std::vector<float>(h->begin(), h->end()) : std::vector<float>();
    const double energy = h ? quadratic_form(w, m.rows, m.cols, hf, pool) : 0.0;
    for (size_t o = 0; o < budget.size(); ++o) {
      if (!schemes[o]) continue;
      std::vector<float> d = dequantize(mse_grid(w, m.rows, m.cols, *schemes[o], plan.float_dtype, importance, pool));
      // The weight error for a lookup role or a layer no input reached.
      m.rel[o] = row_weight || !h ? weight_cost(w, d, m.rows, m.cols, row_weight) : 0.0;
      if (h) {  // ||(W - Q) X||^2 / ||W X||^2 (added to a tied embedding's lookup error)
        std::vector<float> diff(w.size());
        for (size_t i = 0; i < w.size(); ++i) diff[i] = w[i] - d[i];
        m.rel[o] += energy > 0 ? std::max(0.0, quadratic_form(diff, m.rows, m.cols, hf, pool)) / energy : 0.0;
      }
      if (o == m.probe) m.probe_weight = std::move(d);
    }
    return m;
  };
  std::map<std::string, Measured> measured;

  // The blocks on the float model (not sequential: the choice comes first),
  // then the head's layers (lm_head, a tied embedding in its head role) on
  // the final states, quantized unweighted as the writer will.
  for (int64_t b = 0; b <= blocks; ++b) {
    const bool head = b == blocks;
    const std::vector<float> before = kl_states();
    StatsHook stats(planned, pool);
    {
      ScopedLinearHook scope(&stats);
      for (int64_t w = 0; w < session.windows; ++w) {
        stats.next_window();
        if (head) model->head_window(session.window(w), L, logits.data());
        else model->block_window(b, session.window(w), L);
      }
    }
    std::map<const InputStats*, InputQuantities> inputs;
    CalibrationOptions plain = options;
    plain.method = QuantMethod::Mse;  // H and importance, no GPTQ factor
    std::vector<std::string> here;
    for (const auto& layer : stats.layers()) {
      const InputStats* st = &stats.stats(layer);
      if (!inputs.count(st)) inputs.emplace(st, input_quantities(*st, plain, pool));
      const InputQuantities& in = inputs.at(st);
      const TensorPlan& t = *plan_of.at(layer);
      measured[layer] = measure(t, stats.weight(layer), &in.h, head ? nullptr : in.importance.data(),
                                head && is_lookup(t) ? &counts : nullptr);
      if (measured[layer].probe != SIZE_MAX) here.push_back(layer);
    }
    // The probes' effect: in the head directly as KL divergence; in a block
    // as the change of the block's output, turned into KL divergence by the
    // ratio the whole block's probes give (KL at the logits per squared
    // change of the block's output).
    auto hook_of = [&](const std::vector<std::string>& layers) {
      auto hook = std::make_unique<ReplaceHook>();
      for (const auto& l : layers) {
        const Measured& m = measured.at(l);
        hook->set(l, m.probe_weight, m.rows, m.cols);
      }
      return hook;
    };
    const std::vector<float> after = head ? std::vector<float>() : kl_states();
    auto block_change = [&](LinearHook* hook, std::vector<float>* out) {
      std::vector<float> states = before;
      {
        ScopedLinearHook scope(hook);
        for (int64_t w = 0; w < kl_n; ++w) model->block_window(b, states.data() + size_t(w) * kl_floats, K);
      }
      const double d = sum_squared_difference(states.data(), after.data(), states.size());
      if (out) *out = std::move(states);
      return d;
    };
    if (head) {
      for (const auto& l : here)  // a tied embedding's KL is measured below, in both roles
        if (!is_lookup(*plan_of.at(l))) measured[l].kl = kl_from(blocks, before, hook_of({l}).get());
    } else if (!here.empty()) {
      std::vector<float> all_out;
      const double d_all = block_change(hook_of(here).get(), &all_out);
      const double kl_all = kl_from(b + 1, std::move(all_out), nullptr);
      const double per_change = d_all > 0 ? kl_all / d_all : 0.0;
      for (const auto& l : here) measured[l].kl = per_change * block_change(hook_of({l}).get(), nullptr);
    }
    for (const auto& l : here)  // the probe is needed again only for a tied embedding's lookup
      if (!(head && is_lookup(*plan_of.at(l)))) measured[l].probe_weight = std::vector<float>();
    if (progress) progress(++steps, step_total, head ? "head" : "block " + std::to_string(b));
  }
  // Token embeddings as the lookup they also are: rows weighted by how often
  // the cost windows use them (a tied embedding added this to its head error
  // above), and the probe's KL measured in both roles when tied: the states
  // before block 0 moved by the rows' error (embeddings enter the model
  // additively). Planned layers nothing observed: the plain weight error,
  // and no KL of their own.
  for (const auto& t : plan.tensors) {
    if (!t.quantize) continue;
    const bool lookup = is_lookup(t), tied = measured.count(t.layer) > 0;
    if (tied && !lookup) continue;
    const std::vector<float> weight = planned_weight(ckpt, t);
    if (!tied) measured[t.layer] = measure(t, weight, nullptr, nullptr, lookup ? &counts : nullptr);
    Measured& m = measured.at(t.layer);
    if (!lookup || m.probe == SIZE_MAX || t.shape[1] != width) {
      m.kl = -1;
      continue;
    }
    std::vector<float> states(size_t(kl_n) * kl_floats);
    for (int64_t w = 0; w < kl_n; ++w) {
      float* h = states.data() + size_t(w) * kl_floats;
      model->embed_window(tokens.data() + w * L, K, h);
      for (int64_t p = 0; p < K; ++p) {
        const size_t row = size_t(tokens[size_t(w * L + p)]) * size_t(width);
        for (int64_t c = 0; c < width; ++c) h[p * width + c] += m.probe_weight[row + size_t(c)] - weight[row + size_t(c)];
      }
    }
    ReplaceHook head;
    if (tied) head.set(t.layer, m.probe_weight, m.rows, m.cols);
    m.kl = kl_from(0, std::move(states), tied ? &head : nullptr);
    m.probe_weight = std::vector<float>();
  }
  if (progress) progress(++steps, step_total, "embeddings");

  // cost = (KL the probe caused / its relative error) x relative error, per
  // option; layers without a KL figure take the median factor of the rest.
  std::vector<double> factors;
  for (auto& [layer, m] : measured)
    if (m.kl >= 0 && m.probe != SIZE_MAX && m.rel[m.probe] > 0) factors.push_back(std::max(0.0, m.kl) / m.rel[m.probe]);
  std::sort(factors.begin(), factors.end());
  const double fallback = factors.empty() ? 1.0 : factors[factors.size() / 2];
  for (auto& [layer, m] : measured) {
    const bool own = m.kl >= 0 && m.probe != SIZE_MAX && m.rel[m.probe] > 0;
    const double factor = own ? std::max(0.0, m.kl) / m.rel[m.probe] : fallback;
    std::vector<double> cost = m.rel;
    for (auto& c : cost)
      if (c >= 0) c *= factor;
    result.cost[layer] = std::move(cost);
    result.factor[layer] = factor;
  }
  if (progress) progress(++steps, step_total, "costs");
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace wquant
