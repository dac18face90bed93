// Shared by the ggml dequantizers (gguf_quants.cpp: 32-value blocks and the
// dispatch; gguf_kquants.cpp: 256-value superblocks; gguf_iquants.cpp: the
// i-quants with codebooks). Internal to src/io.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace wquant {

static_assert(std::endian::native == std::endian::little,
              "GGUF blocks are little-endian and read by memcpy");

// Reads block `index` of an array of Blocks by memcpy (no alignment needed).
template <class Block>
Block load_block(const uint8_t* src, size_t index) {
  Block b;
  std::memcpy(&b, src + index * sizeof(Block), sizeof(Block));
  return b;
}

// IQ4_NL's and IQ4_XS's 16 levels (ggml-common.h kvalues_iq4nl).
inline constexpr int8_t kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                          1,    13,   25,  38,  53,  69,  89,  113};

// Each writes blocks * 256 floats to out from `blocks` superblocks at src.
void dequantize_q2_k(const uint8_t* src, size_t blocks, float* out);
void dequantize_q3_k(const uint8_t* src, size_t blocks, float* out);
void dequantize_q4_k(const uint8_t* src, size_t blocks, float* out);
void dequantize_q5_k(const uint8_t* src, size_t blocks, float* out);
void dequantize_q6_k(const uint8_t* src, size_t blocks, float* out);
void dequantize_iq4_xs(const uint8_t* src, size_t blocks, float* out);
void dequantize_iq2_xxs(const uint8_t* src, size_t blocks, float* out);  // gguf_iquants.cpp
void dequantize_iq2_xs(const uint8_t* src, size_t blocks, float* out);
void dequantize_iq2_s(const uint8_t* src, size_t blocks, float* out);
void dequantize_iq3_xxs(const uint8_t* src, size_t blocks, float* out);
void dequantize_iq3_s(const uint8_t* src, size_t blocks, float* out);
void dequantize_iq1_s(const uint8_t* src, size_t blocks, float* out);
void dequantize_iq1_m(const uint8_t* src, size_t blocks, float* out);

}  // namespace wquant
