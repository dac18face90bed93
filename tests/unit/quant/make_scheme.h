// make(): a QuantScheme in one expression, for the quant tests.
#pragma once

#include <cstdint>

#include "wquant/quant/scheme.h"

namespace wquant::testing {

inline QuantScheme make(int bits, Granularity g, bool symmetric, int64_t group_size = 0,
                        int axis = 0) {
  QuantScheme s;
  s.bits = bits;
  s.granularity = g;
  s.symmetric = symmetric;
  s.group_size = group_size;
  s.channel_axis = axis;
  return s;
}

}  // namespace wquant::testing
