#include "wquant/calibrate/budget.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <set>

#include "wquant/core/error.h"
#include "wquant/pipeline/plan.h"

namespace wquant {

const char* const kDefaultBudgetSchemes =
    "w8-channel-sym,w4-g32-asym,w4-g64-asym,w4-g128-asym,w3-g64-asym,w2-g64-asym,float";

std::vector<BudgetOption> parse_budget_options(const std::string& list, const QuantScheme& base) {
  std::vector<BudgetOption> out;
  std::set<std::string> seen;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string text = list.substr(start, comma - start);
    text.erase(0, text.find_first_not_of(' '));
    text.erase(text.find_last_not_of(' ') + 1);
    start = comma + 1;
    if (text.empty()) fail("--target-schemes '", list, "': empty entry");
    BudgetOption o;
    o.text = text;
    if (text == "float") {
      o.keep_float = true;
    } else {
      try {
        o.scheme = parse_scheme(text, base);
      } catch (const Error& e) {
        fail("--target-schemes: ", e.what());
      }
    }
    const std::string key = o.keep_float ? "float" : o.scheme.describe();
    if (!seen.insert(key).second) fail("--target-schemes: '", text, "' is listed twice (", key, ")");
    out.push_back(o);
  }
  return out;
}

uint64_t parse_target_size(const std::string& text, uint64_t candidate_weights, uint64_t fixed_bytes) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string unit = text.substr(used);
  for (auto& c : unit) c = char(std::tolower(static_cast<unsigned char>(c)));
  const bool ok_number = used > 0 && std::isfinite(value) && value > 0;
  double bytes = -1;
  if (ok_number && (unit.empty() || unit == "mb"))
    bytes = value * 1e6;
  else if (ok_number && unit == "mib")
    bytes = value * 1048576.0;
  else if (ok_number && unit == "gb")
    bytes = value * 1e9;
  else if (ok_number && unit == "gib")
    bytes = value * 1073741824.0;
  else if (ok_number && unit == "bpw" && value <= 64)
    bytes = value * double(candidate_weights) / 8.0 + double(fixed_bytes);
  if (bytes < 0 || bytes > 1e18)
    fail("--target-size ", text, ": expected a positive size in MB (10^6 bytes; e.g. 105.5 or 105.5MB), ",
         "MiB, GB, GiB (e.g. 3.5GB), or bits per weight of the quantized layers (e.g. 4.5bpw)");
  return uint64_t(bytes);
}

namespace {

// A layer's options on the lower convex hull of (bytes, cost), by bytes:
// each step to the next one removes cost at a falling rate per byte.
std::vector<size_t> hull(const BudgetLayer& l) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < l.bytes.size(); ++i)
    if (l.bytes[i] > 0 && l.cost[i] >= 0) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    return l.bytes[a] != l.bytes[b] ? l.bytes[a] < l.bytes[b] : l.cost[a] < l.cost[b];
  });
  std::vector<size_t> h;
  for (size_t i : idx) {
    if (!h.empty() && l.cost[i] >= l.cost[h.back()]) continue;  // more bytes, no better
    // Drop points above the segment from the one before to this one.
    while (h.size() >= 2) {
      const size_t a = h[h.size() - 2], b = h.back();
      const double slope_ab = (l.cost[a] - l.cost[b]) / double(l.bytes[b] - l.bytes[a]);
      const double slope_ai = (l.cost[a] - l.cost[i]) / double(l.bytes[i] - l.bytes[a]);
      if (slope_ai >= slope_ab) h.pop_back();
      else break;
    }
    h.push_back(i);
  }
  return h;
}

}  // namespace

BudgetChoice allocate_budget(const std::vector<BudgetLayer>& layers, uint64_t budget) {
  std::vector<std::vector<size_t>> hulls;
  std::vector<size_t> at(layers.size(), 0);
  BudgetChoice c;
  c.option.resize(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    hulls.push_back(hull(layers[i]));
    if (hulls.back().empty()) fail("--target-size: layer ", layers[i].layer, " has no usable scheme");
    const size_t o = hulls.back()[0];
    c.option[i] = o;
    c.bytes += layers[i].bytes[o];
    c.cost += layers[i].cost[o];
  }
  if (c.bytes > budget)
    fail("--target-size: ", budget, " bytes is below the smallest the schemes reach, ", c.bytes,
         " bytes (every layer at its smallest scheme)");
  // Upgrades by falling cost removed per byte; ties to the earlier layer.
  struct Step {
    double rate;
    size_t layer;
    bool operator<(const Step& o) const { return rate != o.rate ? rate < o.rate : layer > o.layer; }
  };
  auto step_of = [&](size_t i) {
    const auto& h = hulls[i];
    const size_t from = h[at[i]], to = h[at[i] + 1];
    return Step{(layers[i].cost[from] - layers[i].cost[to]) / double(layers[i].bytes[to] - layers[i].bytes[from]), i};
  };
  std::priority_queue<Step> steps;
  for (size_t i = 0; i < layers.size(); ++i)
    if (hulls[i].size() > 1) steps.push(step_of(i));
  while (!steps.empty()) {
    const Step s = steps.top();
    steps.pop();
    const size_t i = s.layer, from = hulls[i][at[i]], to = hulls[i][at[i] + 1];
    const uint64_t extra = layers[i].bytes[to] - layers[i].bytes[from];
    if (c.bytes + extra > budget) continue;  // this layer stops here
    c.bytes += extra;
    c.cost += layers[i].cost[to] - layers[i].cost[from];
    c.option[i] = to;
    ++at[i];
    if (at[i] + 1 < hulls[i].size()) steps.push(step_of(i));
  }
  return c;
}

}  // namespace wquant
