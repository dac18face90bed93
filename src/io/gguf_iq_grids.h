// The codebooks of ggml's i-quants: row g of a grid holds the unsigned
// magnitudes that grid index g stands for (8 values for the 2-bit types, 4
// for the 3-bit ones). Generated (gguf_iq_grids.cpp, scripts/gen_iq_grids.py).
// Internal to src/io.
#pragma once

#include <cstdint>

namespace wquant {

extern const uint8_t kIq2XxsGrid[256][8];   // values 8, 25, 43
extern const uint8_t kIq2XsGrid[512][8];    // values 8, 25, 43
extern const uint8_t kIq2SGrid[1024][8];    // values 8, 25, 43
extern const uint8_t kIq3XxsGrid[256][4];   // values 4, 12, ..., 62
extern const uint8_t kIq3SGrid[512][4];     // values 1, 3, ..., 15
extern const int8_t kIq1SGrid[2048][8];     // values -1, 0, 1 (IQ1_S and IQ1_M)

}  // namespace wquant
