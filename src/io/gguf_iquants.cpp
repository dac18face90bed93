// ggml's i-quants with codebooks (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S,
// IQ1_S, IQ1_M) to f32, following ggml-quants.c (dequantize_row_iq*): 256 values per block,
// each group of 8 (2-bit types) or 4 (3-bit types) values is one codebook row
// (gguf_iq_grids.h) of magnitudes, signed by sign bits and scaled per 16 or
// 32 values. Float operations in ggml's order, so results are bit-exact.
#include <bit>

#include "gguf_blocks.h"
#include "gguf_iq_grids.h"
#include "wquant/core/half.h"

namespace wquant {
namespace {

// The 8 signs of a group from a 7-bit index: bit 7 is the parity of the
// other seven, so a group always has an even number of negatives
// (ggml-common.h ksigns_iq2xs).
uint8_t group_signs(uint32_t index) {
  const uint32_t low = index & 127;
  return uint8_t(low | (uint32_t(std::popcount(low) & 1) << 7));
}

float signed_value(float scale, uint8_t magnitude, uint8_t signs, int bit) {
  return scale * float(magnitude) * ((signs >> bit) & 1 ? -1.0f : 1.0f);
}

// The IQ2 types' scale of a group: d * (0.5 + s) * 0.25 for a 4-bit s, in ggml's order.
float iq2_scale(float d, uint32_t s) { return d * (0.5f + float(s)) * 0.25f; }

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

struct BlockIq2Xxs {
  uint16_t d;
  uint8_t qs[64];  // per 32 values: 4 grid indices (bytes), then a u32 of 4 sign indices and a scale
};
static_assert(sizeof(BlockIq2Xxs) == 66);

struct BlockIq2Xs {
  uint16_t d;
  uint16_t qs[32];    // 9-bit grid index | 7-bit sign index << 9
  uint8_t scales[8];  // a 4-bit scale per 16 values, low nibble first
};
static_assert(sizeof(BlockIq2Xs) == 74);

struct BlockIq2S {
  uint16_t d;
  uint8_t qs[32];     // grid index, low 8 bits
  uint8_t signs[32];  // one bit per value
  uint8_t qh[8];      // grid index bits 8-9, 2 per group of 8
  uint8_t scales[8];
};
static_assert(sizeof(BlockIq2S) == 82);

struct BlockIq3Xxs {
  uint16_t d;
  uint8_t qs[64];             // grid index per 4 values
  uint8_t scales_signs[32];   // per 32 values a u32: 4 sign indices, scale in bits 28-31
};
static_assert(sizeof(BlockIq3Xxs) == 98);

struct BlockIq3S {
  uint16_t d;
  uint8_t qs[64];     // grid index, low 8 bits, per 4 values
  uint8_t qh[8];      // grid index bit 8
  uint8_t signs[32];  // one bit per value
  uint8_t scales[4];  // a 4-bit scale per 32 values
};
static_assert(sizeof(BlockIq3S) == 110);

struct BlockIq1S {
  uint16_t d;
  uint8_t qs[32];   // grid index, low 8 bits, per 8 values
  uint16_t qh[8];   // per 32 values: 3 more index bits per group, scale in bits 12-14, delta sign in 15
};
static_assert(sizeof(BlockIq1S) == 50);

struct BlockIq1M {
  uint8_t qs[32];      // grid index, low 8 bits, per 8 values
  uint8_t qh[16];      // per 8 values a nibble: 3 more index bits, delta sign in bit 3
  uint16_t scales[4];  // 3-bit scales per 16 values; the f16 d is spread over their top nibbles
};
static_assert(sizeof(BlockIq1M) == 56);

// IQ1's shift of every codebook value (ggml-common.h IQ1S_DELTA).
constexpr float kIq1Delta = 0.125f;

}  // namespace

void dequantize_iq2_xxs(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i, out += 256) {
    const auto b = load_block<BlockIq2Xxs>(src, i);
    const float d = f16_to_f32(b.d);
    for (int ib = 0; ib < 8; ++ib) {
      const uint8_t* grid_index = b.qs + 8 * ib;
      const uint32_t aux = load_u32(b.qs + 8 * ib + 4);
      const float db = iq2_scale(d, aux >> 28);
      for (int l = 0; l < 4; ++l) {
        const uint8_t* grid = kIq2XxsGrid[grid_index[l]];
        const uint8_t signs = group_signs(aux >> (7 * l));
        for (int j = 0; j < 8; ++j) out[32 * ib + 8 * l + j] = signed_value(db, grid[j], signs, j);
      }
    }
  }
}

void dequantize_iq2_xs(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i, out += 256) {
    const auto b = load_block<BlockIq2Xs>(src, i);
    const float d = f16_to_f32(b.d);
    for (int ib = 0; ib < 8; ++ib) {
      const float db[2] = {iq2_scale(d, b.scales[ib] & 0x0F), iq2_scale(d, b.scales[ib] >> 4)};
      for (int l = 0; l < 4; ++l) {
        const uint16_t q = b.qs[4 * ib + l];
        const uint8_t* grid = kIq2XsGrid[q & 511];
        const uint8_t signs = group_signs(q >> 9);
        for (int j = 0; j < 8; ++j) out[32 * ib + 8 * l + j] = signed_value(db[l / 2], grid[j], signs, j);
      }
    }
  }
}

void dequantize_iq2_s(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i, out += 256) {
    const auto b = load_block<BlockIq2S>(src, i);
    const float d = f16_to_f32(b.d);
    for (int ib = 0; ib < 8; ++ib) {
      const float db[2] = {iq2_scale(d, b.scales[ib] & 0x0F), iq2_scale(d, b.scales[ib] >> 4)};
      for (int l = 0; l < 4; ++l) {
        const int index = b.qs[4 * ib + l] | ((b.qh[ib] >> (2 * l)) & 3) << 8;
        const uint8_t* grid = kIq2SGrid[index];
        const uint8_t signs = b.signs[4 * ib + l];
        for (int j = 0; j < 8; ++j) out[32 * ib + 8 * l + j] = signed_value(db[l / 2], grid[j], signs, j);
      }
    }
  }
}

void dequantize_iq3_xxs(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i, out += 256) {
    const auto b = load_block<BlockIq3Xxs>(src, i);
    const float d = f16_to_f32(b.d);
    for (int ib = 0; ib < 8; ++ib) {
      const uint32_t aux = load_u32(b.scales_signs + 4 * ib);
      const float db = d * (0.5f + float(aux >> 28)) * 0.5f;
      for (int l = 0; l < 4; ++l) {
        const uint8_t signs = group_signs(aux >> (7 * l));
        const uint8_t* grid1 = kIq3XxsGrid[b.qs[8 * ib + 2 * l]];
        const uint8_t* grid2 = kIq3XxsGrid[b.qs[8 * ib + 2 * l + 1]];
        float* y = out + 32 * ib + 8 * l;
        for (int j = 0; j < 4; ++j) {
          y[j] = signed_value(db, grid1[j], signs, j);
          y[j + 4] = signed_value(db, grid2[j], signs, j + 4);
        }
      }
    }
  }
}

void dequantize_iq3_s(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i, out += 256) {
    const auto b = load_block<BlockIq3S>(src, i);
    const float d = f16_to_f32(b.d);
    for (int ib = 0; ib < 8; ++ib) {  // 32 values each: 8 grid rows of 4
      const int nibble = ib % 2 ? b.scales[ib / 2] >> 4 : b.scales[ib / 2] & 0x0F;
      const float db = d * float(1 + 2 * nibble);
      for (int k = 0; k < 8; ++k) {
        const int g = 8 * ib + k;  // grid row of the block
        const uint8_t* grid = kIq3SGrid[b.qs[g] | ((b.qh[g / 8] >> (g % 8)) & 1) << 8];
        const uint8_t signs = b.signs[g / 2];
        for (int j = 0; j < 4; ++j) out[4 * g + j] = signed_value(db, grid[j], signs, 4 * (g % 2) + j);
      }
    }
  }
}

void dequantize_iq1_s(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i, out += 256) {
    const auto b = load_block<BlockIq1S>(src, i);
    const float d = f16_to_f32(b.d);
    for (int ib = 0; ib < 8; ++ib) {
      const float dl = d * float(2 * ((b.qh[ib] >> 12) & 7) + 1);
      const float delta = b.qh[ib] & 0x8000 ? -kIq1Delta : kIq1Delta;
      for (int l = 0; l < 4; ++l) {
        const int8_t* grid = kIq1SGrid[b.qs[4 * ib + l] | ((b.qh[ib] >> (3 * l)) & 7) << 8];
        for (int j = 0; j < 8; ++j) out[32 * ib + 8 * l + j] = dl * (float(grid[j]) + delta);
      }
    }
  }
}

void dequantize_iq1_m(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i, out += 256) {
    const auto b = load_block<BlockIq1M>(src, i);
    const uint16_t* sc = b.scales;
    const uint16_t d_bits = uint16_t((sc[0] >> 12) | ((sc[1] >> 8) & 0x00F0) | ((sc[2] >> 4) & 0x0F00) |
                                     (sc[3] & 0xF000));
    const float d = f16_to_f32(d_bits);
    for (int r = 0; r < 32; ++r) {  // grid rows of 8 values; two share a 3-bit scale
      const int s = r / 2;          // scale index: 3 bits at 3 * (s % 4) of sc[s / 4]
      const float dl = d * float(2 * ((sc[s / 4] >> (3 * (s % 4))) & 7) + 1);
      const int nibble = (b.qh[r / 2] >> (4 * (r % 2))) & 0x0F;
      const float delta = nibble & 8 ? -kIq1Delta : kIq1Delta;
      const int8_t* grid = kIq1SGrid[b.qs[r] | (nibble & 7) << 8];
      for (int j = 0; j < 8; ++j) out[8 * r + j] = dl * (float(grid[j]) + delta);
    }
  }
}

}  // namespace wquant
