// The model_type -> encoder architecture table, and the pooling shared by
// every encoder. Adding an architecture: one file in src/models/ and one line here.
#include <algorithm>
#include <cmath>

#include "wquant/core/error.h"
#include "wquant/models/encoder.h"
#include "bert.h"

namespace wquant {
namespace {

struct Entry {
  const char* model_type;
  std::unique_ptr<Encoder> (*make)(const CheckpointReader&);
};

constexpr Entry kEncoders[] = {
    {"bert", make_bert},
};

}  // namespace

std::vector<std::string> supported_encoders() {
  std::vector<std::string> out;
  for (const auto& e : kEncoders) out.push_back(e.model_type);
  return out;
}

std::unique_ptr<Encoder> load_encoder(const CheckpointReader& ckpt) {
  const std::string type = ckpt.model_type();
  for (const auto& e : kEncoders)
    if (type == e.model_type) return e.make(ckpt);
  std::string list;
  for (const auto& s : supported_encoders()) list += (list.empty() ? "" : ", ") + s;
  fail(ckpt.path(), ": model_type '", type, "' is not an encoder wquant can run (supported: ", list,
       ")");
}

std::vector<float> mean_pool_normalize(const std::vector<float>& hidden, int64_t n,
                                       int64_t hidden_size) {
  if (n <= 0 || hidden_size <= 0 || int64_t(hidden.size()) != n * hidden_size)
    fail("mean_pool_normalize: ", hidden.size(), " values are not ", n, " tokens of ", hidden_size);
  // Sums in double: the mean of a few hundred tokens then matches PyTorch's
  // f32 reduction to well under the tolerance the oracle test allows.
  std::vector<double> sum(size_t(hidden_size), 0.0);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < hidden_size; ++i) sum[size_t(i)] += hidden[size_t(t * hidden_size + i)];
  double norm2 = 0;
  for (double& s : sum) {
    s /= double(n);
    norm2 += s * s;
  }
  // sentence-transformers' Normalize divides by max(norm, 1e-12).
  const double inv = 1.0 / std::max(std::sqrt(norm2), 1e-12);
  std::vector<float> out(static_cast<size_t>(hidden_size));
  for (int64_t i = 0; i < hidden_size; ++i) out[size_t(i)] = float(sum[size_t(i)] * inv);
  return out;
}

}  // namespace wquant
