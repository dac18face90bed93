// Scalar conversions between f32 and the 16-bit float formats.
// f16 is IEEE binary16; bf16 is the upper half of an f32. Both conversions
// from f32 round to nearest, ties to even, and keep NaN a NaN.
#pragma once

#include <cstdint>
#include <cstring>

namespace wquant {

inline uint32_t f32_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float f32_from_bits(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

// Returns the f32 value of a bf16 bit pattern (exact).
inline float bf16_to_f32(uint16_t h) { return f32_from_bits(uint32_t(h) << 16); }

// Returns the bf16 nearest to f (ties to even); NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

// Returns the f32 value of an IEEE binary16 bit pattern (exact).
float f16_to_f32(uint16_t h);
// Returns the binary16 nearest to f (ties to even); overflow gives +-inf.
uint16_t f32_to_f16(float f);

}  // namespace wquant
