// Number formatting shared by the text and HTML reports (internal to pipeline).
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

namespace wquant::detail {

// Returns v with `decimals` decimals; "inf" / "-inf" for infinities.
inline std::string fixed(double v, int decimals) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Returns v in scientific notation with 3 decimals, e.g. "1.234e-02".
inline std::string sci(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3e", v);
  return buf;
}

}  // namespace wquant::detail
