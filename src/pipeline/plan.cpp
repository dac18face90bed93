#include "wquant/pipeline/plan.h"

#include <cstdlib>

#include "wquant/core/error.h"
#include "wquant/pipeline/glob.h"

namespace wquant {
namespace {

// Returns true if `pattern` names lm_head in a model whose lm_head is its
// token embedding (tie_word_embeddings, no tensor of its own): excluding it
// is what the user wants and already so, so --exclude lm_head warns nothing.
bool excludes_tied_head(const CheckpointReader& ckpt, const std::string& pattern) {
  const auto& config = ckpt.config();
  const auto tied = config.find("tie_word_embeddings");
  return glob_match(pattern, "lm_head") && tied != config.end() && tied->is_boolean() && tied->get<bool>() &&
         !ckpt.has("lm_head.weight");
}

std::vector<std::string> split_tokens(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == '-' || c == ',' || c == '_') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += char(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// Returns the digits after `prefix` in token as a positive number, or -1.
long long number_after(const std::string& token, size_t prefix) {
  if (token.size() <= prefix) return -1;
  for (size_t i = prefix; i < token.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(token[i]))) return -1;
  return std::atoll(token.c_str() + prefix);
}

std::string layer_name(const std::string& tensor) {
  const std::string suffix = ".weight";
  if (tensor.size() > suffix.size() &&
      tensor.compare(tensor.size() - suffix.size(), suffix.size(), suffix) == 0)
    return tensor.substr(0, tensor.size() - suffix.size());
  return tensor;
}

bool any_match(const std::vector<std::string>& globs, const std::string& layer,
               const std::string& tensor, std::string* which) {
  for (const auto& g : globs) {
    if (glob_match(g, layer) || glob_match(g, tensor)) {
      if (which) *which = g;
      return true;
    }
  }
  return false;
}

const char* role_name(TensorRole role) {
  switch (role) {
    case TensorRole::Linear: return "linear";
    case TensorRole::LmHead: return "lm_head";
    case TensorRole::Embedding: return "embedding";
    case TensorRole::Other: return "not a linear layer";
  }
  return "";
}

// Returns the largest group size <= requested that divides cols, preferring
// multiples of 32 (what packed kernels like), then of 8, then any divisor.
int64_t fitting_group_size(int64_t requested, int64_t cols) {
  for (int64_t multiple : {32, 8, 1})
    for (int64_t g = requested; g >= multiple; --g)
      if (g % multiple == 0 && cols % g == 0) return g;
  return 1;
}

// Adapts `scheme` to a layer with `cols` input features, or throws. A group
// size that does not divide cols is shrunk to one that does (compressed-tensors
// and the kernels that load its format require whole groups); the reason
// records it, and the report shows the group size used.
QuantScheme fit_scheme(TensorPlan& t, QuantScheme scheme) {
  std::string note;
  const auto fitted = fitted_scheme(t, scheme, &note);
  if (!fitted)
    fail("layer ", t.layer, " ", shape_str(t.shape), ": group size ", scheme.group_size, " exceeds its ",
         t.cls.transposed ? t.shape[0] : t.shape[1], " input features; use a smaller --group-size or --exclude it");
  t.reason += note;
  return *fitted;
}

}  // namespace

std::optional<QuantScheme> fitted_scheme(const TensorPlan& t, QuantScheme scheme, std::string* note) {
  const int64_t cols = t.cls.transposed ? t.shape[0] : t.shape[1];
  if (scheme.granularity != Granularity::PerGroup || cols % scheme.group_size == 0) return scheme;
  if (scheme.group_size > cols) return std::nullopt;
  const int64_t g = fitting_group_size(scheme.group_size, cols);
  if (note) *note = cat(", group size ", g, " (", scheme.group_size, " does not divide ", cols, ")");
  scheme.group_size = g;
  return scheme;
}

QuantScheme parse_scheme(const std::string& text, const QuantScheme& base) {
  QuantScheme s = base;
  const auto tokens = split_tokens(text);
  if (tokens.empty()) fail("empty quantization scheme '", text, "'");
  for (const auto& tok : tokens) {
    long long n;
    if (tok == "sym") {
      s.symmetric = true;
    } else if (tok == "asym") {
      s.symmetric = false;
    } else if (tok == "channel") {
      s.granularity = Granularity::PerChannel;
      s.channel_axis = 0;
      s.group_size = 0;
    } else if (tok == "tensor") {
      s.granularity = Granularity::PerTensor;
      s.group_size = 0;
    } else if ((n = number_after(tok, 1)) > 0 && tok[0] == 'w') {
      s.bits = int(n);
    } else if ((n = number_after(tok, 1)) > 0 && tok[0] == 'g') {
      s.granularity = Granularity::PerGroup;
      s.group_size = n;
    } else {
      fail("scheme '", text, "': unknown token '", tok,
           "' (expected w2|w3|w4|w8, channel|tensor|gN, sym|asym)");
    }
  }
  try {
    s.validate();
  } catch (const Error& e) {
    fail("scheme '", text, "': ", e.what());
  }
  return s;
}

size_t Plan::quantized_count() const {
  size_t n = 0;
  for (const auto& t : tensors) n += t.quantize;
  return n;
}

Plan build_plan(const CheckpointReader& ckpt, const PlanOptions& options) {
  options.scheme.validate();
  const auto& config = ckpt.config();
  // Its packed tensors would be copied as they are under a new, wrong config.
  if (config.is_object() && config.contains("quantization_config"))
    fail(ckpt.path(), ": already quantized (config.json has a quantization_config); "
         "quantize the float original instead");
  const std::string model_type = ckpt.model_type();

  Plan plan;
  plan.rules = arch_rules_for(model_type);
  plan.float_dtype = options.float_dtype;

  std::vector<bool> exclude_used(options.exclude.size()), include_used(options.include.size()),
      override_used(options.overrides.size());
  for (const auto& info : ckpt.tensors()) {
    TensorPlan t;
    t.tensor = info.name;
    t.layer = layer_name(info.name);
    t.shape = info.shape;
    t.cls = plan.rules.classify(info.name, info.shape);
    std::string which;
    for (size_t i = 0; i < options.exclude.size(); ++i)
      if (glob_match(options.exclude[i], t.layer) || glob_match(options.exclude[i], t.tensor))
        exclude_used[i] = true;
    for (size_t i = 0; i < options.include.size(); ++i)
      if (glob_match(options.include[i], t.layer) || glob_match(options.include[i], t.tensor))
        include_used[i] = true;

    const bool is_matrix = info.shape.size() == 2 && is_float(info.dtype);
    if (any_match(options.exclude, t.layer, t.tensor, &which)) {
      t.reason = "excluded by --exclude " + which;
    } else if (is_matrix && any_match(options.include, t.layer, t.tensor, &which)) {
      t.quantize = true;
      t.reason = "included by --include " + which;
    } else if (t.cls.role == TensorRole::Linear) {
      t.quantize = true;
      t.reason = "linear";
    } else if (t.cls.role == TensorRole::Other) {
      t.reason = role_name(t.cls.role);
    } else {
      t.reason = std::string(role_name(t.cls.role)) + ", excluded by default";
    }
    if (t.quantize) {
      t.scheme = options.scheme;
      for (size_t i = 0; i < options.overrides.size(); ++i) {
        const auto& o = options.overrides[i];
        if (glob_match(o.pattern, t.layer) || glob_match(o.pattern, t.tensor)) {
          t.scheme = o.scheme;
          override_used[i] = true;
        }
      }
      t.scheme = fit_scheme(t, t.scheme);
    }
    plan.tensors.push_back(std::move(t));
  }
  // A pattern that selects nothing is almost always a typo: say so.
  for (size_t i = 0; i < options.exclude.size(); ++i)
    if (!exclude_used[i] && !excludes_tied_head(ckpt, options.exclude[i]))  // harmless: warn only
      plan.warnings.push_back(cat("--exclude ", options.exclude[i], ": matches no tensor in ", ckpt.path()));
  for (size_t i = 0; i < options.include.size(); ++i)
    if (!include_used[i]) fail("--include ", options.include[i], ": matches no tensor in ", ckpt.path());
  for (size_t i = 0; i < options.overrides.size(); ++i)
    if (!override_used[i])
      fail("--override ", options.overrides[i].pattern, ": matches no quantized layer in ", ckpt.path());
  return plan;
}

}  // namespace wquant
