// Internal to the quant layer: consistency check of a QuantizedTensor that
// may have been assembled outside quantize() (e.g. read from a checkpoint).
#pragma once

#include "wquant/quant/quantize.h"

namespace wquant {

// Throws Error, prefixed by `where`, unless t's scheme is valid and the sizes
// of q, scales and zero_points (empty iff symmetric) match its shape.
void check_quantized(const QuantizedTensor& t, const char* where);

}  // namespace wquant
