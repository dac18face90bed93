#include "wquant/io/json_number.h"

#include <cmath>
#include <limits>

#include "wquant/core/error.h"

namespace wquant {

std::optional<int64_t> json_int_in(const nlohmann::json& j, int64_t lo, int64_t hi) {
  if (j.is_number_unsigned()) {
    const uint64_t v = j.get<uint64_t>();
    if (hi >= 0 && v <= uint64_t(hi) && int64_t(v) >= lo) return int64_t(v);
  } else if (j.is_number_integer()) {
    const int64_t v = j.get<int64_t>();
    if (v >= lo && v <= hi) return v;
  } else if (j.is_number_float()) {
    const double v = j.get<double>();
    // Compared as doubles before converting: both bounds are exact or round
    // outward by at most one ulp, and the magnitude check keeps 2^63 out.
    if (std::isfinite(v) && v == std::floor(v) && v >= double(lo) && v <= double(hi) &&
        std::fabs(v) < 9.2e18)
      return int64_t(v);
  }
  return std::nullopt;
}

int64_t json_int(const nlohmann::json& j, int64_t lo, int64_t hi, const std::string& what) {
  if (const auto v = json_int_in(j, lo, hi)) return *v;
  fail(what, " is ", j.dump().substr(0, 40), ", expected an integer in [", lo, ", ", hi, "]");
}

int64_t json_int_or(const nlohmann::json& j, const char* key, int64_t fallback, int64_t lo, int64_t hi,
                    const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return json_int(*it, lo, hi, where + " '" + key + "'");
}

float json_float_or(const nlohmann::json& j, const char* key, float fallback, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (it->is_number()) {
    const double v = it->get<double>();
    if (std::isfinite(v) && std::fabs(v) <= double(std::numeric_limits<float>::max())) return float(v);
  }
  fail(where, " '", key, "' is ", it->dump().substr(0, 40), ", expected a finite number");
}

}  // namespace wquant
