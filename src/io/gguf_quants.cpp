// ggml tensor types: names, block layouts, and scalar reference dequantizers
// for F32, F16, BF16, Q8_0, Q4_0, Q4_1 and Q6_K, following ggml-quants.c
// (dequantize_row_*). Results are bit-identical to ggml's and to the `gguf`
// Python package's numpy dequantizers, whatever the evaluation order or
// fused multiply-adds: every product is exact in f32 (an f16 d has 11
// significant bits; times Q8_0's 8-bit q, or Q6_K's 8-bit scale and 6-bit
// q = 11 + 7 + 5 magnitude bits, stays within f32's 24), so the only rounding
// is Q4_1's single add of m.
//
// All multi-byte fields are little-endian, like the files. The block structs
// are read by memcpy into a local, so the host must be little-endian too.
#include <bit>
#include <cstring>

#include "wquant/core/error.h"
#include "wquant/core/half.h"
#include "wquant/io/gguf.h"

namespace wquant {
namespace {

static_assert(std::endian::native == std::endian::little,
              "GGUF blocks are little-endian and read by memcpy");

// Q8_0: 32 values. bytes 0-1: d (f16); bytes 2-33: qs, int8 value i at byte 2+i.
// value[i] = qs[i] * d
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

// Q4_0: 32 values. bytes 0-1: d (f16); bytes 2-17: qs. Byte 2+j holds value j
// in its low nibble and value j+16 in its high nibble.
// value = (nibble - 8) * d
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_0) == 18);

// Q4_1: 32 values. bytes 0-1: d (f16); bytes 2-3: m (f16); bytes 4-19: qs,
// nibbles as in Q4_0.  value = nibble * d + m
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_1) == 20);

// Q6_K: a 256-value superblock of 16 sub-blocks of 16 values, each value a
// 6-bit q in [0, 63]. bytes 0-127: ql (low 4 bits), bytes 128-191: qh (high
// 2 bits), bytes 192-207: scales (int8, one per sub-block), bytes 208-209: d
// (f16).  value[k] = d * scales[k / 16] * (q[k] - 32)
// The 256 values are two halves of 128; in half h (ql += 64h, qh += 32h),
// for l in [0, 32):
//   q[128h + l +  0] = (ql[l]      & 0xF) | ((qh[l] >> 0) & 3) << 4
//   q[128h + l + 32] = (ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4
//   q[128h + l + 64] = (ql[l]      >> 4)  | ((qh[l] >> 4) & 3) << 4
//   q[128h + l + 96] = (ql[l + 32] >> 4)  | ((qh[l] >> 6) & 3) << 4
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210);

template <class Block>
Block load_block(const uint8_t* src, size_t index) {
  Block b;
  std::memcpy(&b, src + index * sizeof(Block), sizeof(Block));
  return b;
}

void dequantize_q8_0(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i) {
    const auto b = load_block<BlockQ8_0>(src, i);
    const float d = f16_to_f32(b.d);
    for (int j = 0; j < 32; ++j) out[32 * i + j] = float(b.qs[j]) * d;
  }
}

void dequantize_q4_0(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i) {
    const auto b = load_block<BlockQ4_0>(src, i);
    const float d = f16_to_f32(b.d);
    for (int j = 0; j < 16; ++j) {
      out[32 * i + j] = float((b.qs[j] & 0x0F) - 8) * d;
      out[32 * i + j + 16] = float((b.qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q4_1(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i) {
    const auto b = load_block<BlockQ4_1>(src, i);
    const float d = f16_to_f32(b.d);
    const float m = f16_to_f32(b.m);
    for (int j = 0; j < 16; ++j) {
      out[32 * i + j] = float(b.qs[j] & 0x0F) * d + m;
      out[32 * i + j + 16] = float(b.qs[j] >> 4) * d + m;
    }
  }
}

void dequantize_q6_k(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i) {
    const auto b = load_block<BlockQ6_K>(src, i);
    const float d = f16_to_f32(b.d);
    float* y = out + 256 * i;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = b.ql + 64 * half;
      const uint8_t* qh = b.qh + 32 * half;
      const int8_t* sc = b.scales + 8 * half;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        const float d1 = d * float(sc[is + 0]);
        const float d2 = d * float(sc[is + 2]);
        const float d3 = d * float(sc[is + 4]);
        const float d4 = d * float(sc[is + 6]);
        y[l + 0] = d1 * float(q1);
        y[l + 32] = d2 * float(q2);
        y[l + 64] = d3 * float(q3);
        y[l + 96] = d4 * float(q4);
      }
      y += 128;
    }
  }
}

}  // namespace

std::string ggml_type_name(uint32_t type) {
  switch (GgmlType(type)) {
    case GgmlType::F32: return "F32";
    case GgmlType::F16: return "F16";
    case GgmlType::Q4_0: return "Q4_0";
    case GgmlType::Q4_1: return "Q4_1";
    case GgmlType::Q5_0: return "Q5_0";
    case GgmlType::Q5_1: return "Q5_1";
    case GgmlType::Q8_0: return "Q8_0";
    case GgmlType::Q8_1: return "Q8_1";
    case GgmlType::Q2_K: return "Q2_K";
    case GgmlType::Q3_K: return "Q3_K";
    case GgmlType::Q4_K: return "Q4_K";
    case GgmlType::Q5_K: return "Q5_K";
    case GgmlType::Q6_K: return "Q6_K";
    case GgmlType::Q8_K: return "Q8_K";
    case GgmlType::BF16: return "BF16";
  }
  return cat("type", type);
}

// Sizes from ggml.c's type_traits (and gguf-py's GGML_QUANT_SIZES).
std::optional<GgmlBlockLayout> ggml_block_layout(uint32_t type) {
  switch (GgmlType(type)) {
    case GgmlType::F32: return GgmlBlockLayout{1, 4};
    case GgmlType::F16: return GgmlBlockLayout{1, 2};
    case GgmlType::BF16: return GgmlBlockLayout{1, 2};
    case GgmlType::Q4_0: return GgmlBlockLayout{32, 18};
    case GgmlType::Q4_1: return GgmlBlockLayout{32, 20};
    case GgmlType::Q5_0: return GgmlBlockLayout{32, 22};
    case GgmlType::Q5_1: return GgmlBlockLayout{32, 24};
    case GgmlType::Q8_0: return GgmlBlockLayout{32, 34};
    case GgmlType::Q8_1: return GgmlBlockLayout{32, 40};
    case GgmlType::Q2_K: return GgmlBlockLayout{256, 84};
    case GgmlType::Q3_K: return GgmlBlockLayout{256, 110};
    case GgmlType::Q4_K: return GgmlBlockLayout{256, 144};
    case GgmlType::Q5_K: return GgmlBlockLayout{256, 176};
    case GgmlType::Q6_K: return GgmlBlockLayout{256, 210};
    case GgmlType::Q8_K: return GgmlBlockLayout{256, 292};
  }
  return std::nullopt;
}

bool ggml_can_dequantize(uint32_t type) {
  switch (GgmlType(type)) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16:
    case GgmlType::Q8_0: case GgmlType::Q4_0: case GgmlType::Q4_1:
    case GgmlType::Q6_K:
      return true;
    default:
      return false;
  }
}

void dequantize_ggml(uint32_t type, const uint8_t* src, size_t n, float* out) {
  if (!ggml_can_dequantize(type)) {
    fail("dequantization of ggml type ", ggml_type_name(type),
         " is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q6_K)");
  }
  const GgmlBlockLayout layout = *ggml_block_layout(type);
  if (n % layout.values != 0) {
    fail("cannot dequantize ", n, " values of ggml type ", ggml_type_name(type),
         ": not a multiple of its block of ", layout.values);
  }
  const size_t blocks = n / layout.values;
  switch (GgmlType(type)) {
    case GgmlType::F32:
      if (n) std::memcpy(out, src, n * 4);
      return;
    case GgmlType::F16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = f16_to_f32(h);
      }
      return;
    case GgmlType::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = bf16_to_f32(h);
      }
      return;
    case GgmlType::Q8_0: return dequantize_q8_0(src, blocks, out);
    case GgmlType::Q4_0: return dequantize_q4_0(src, blocks, out);
    case GgmlType::Q4_1: return dequantize_q4_1(src, blocks, out);
    case GgmlType::Q6_K: return dequantize_q6_k(src, blocks, out);
    default: break;
  }
}

}  // namespace wquant
