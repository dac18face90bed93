// Scalar reference dequantizers of ggml's 256-value superblock types: the
// K-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and IQ4_XS, following ggml-quants.c
// (dequantize_row_*). Bit-identical to ggml and to the `gguf` package's numpy
// dequantizers for the reason given in gguf_quants.cpp: products are exact in
// f32, the only rounding is the subtraction of dmin * m.
//
// In every layout below, "value v" is the index in the superblock's 256
// values, and an f16 field is read with f16_to_f32.
#include "wquant/core/half.h"
#include "gguf_blocks.h"

namespace wquant {
namespace {

// Q2_K: 16 sub-blocks of 16 values. bytes 0-15: scales (low nibble: scale,
// high nibble: min, one byte per sub-block), bytes 16-79: qs (2 bits a
// value), bytes 80-81: d, 82-83: dmin (f16).
// value v = 128h + 32j + l (h < 2, j < 4, l < 32):
//   q = (qs[32h + l] >> 2j) & 3, s = scales[v / 16]
//   y = d * (s & 15) * q - dmin * (s >> 4)
struct BlockQ2_K {
  uint8_t scales[16];
  uint8_t qs[64];
  uint16_t d;
  uint16_t dmin;
};
static_assert(sizeof(BlockQ2_K) == 84);

// Q3_K: 16 sub-blocks of 16 values. bytes 0-31: hmask, bytes 32-95: qs (low
// 2 bits), bytes 96-107: 16 6-bit scales, bytes 108-109: d (f16).
// value v = 128h + 32j + l: low = (qs[32h + l] >> 2j) & 3; the high bit is
// bit 4h + j of hmask[l], and when it is CLEAR 4 is subtracted:
//   y = d * (scale[v / 16] - 32) * (low - (bit ? 0 : 4))
// scale k (6 bits): low nibble of byte k (k < 8) or high nibble of byte k - 8,
// with bits 4-5 = (byte 8 + k % 4 >> 2 * (k / 4)) & 3.
struct BlockQ3_K {
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];
  uint16_t d;
};
static_assert(sizeof(BlockQ3_K) == 110);

// Q4_K: 8 sub-blocks of 32 values. bytes 0-1: d, 2-3: dmin (f16); bytes
// 4-15: 8 6-bit scales and 8 6-bit mins (scale_min below); bytes 16-143: qs.
// value v = 64c + 32s + l (c < 4, s < 2, l < 32): q = nibble s of qs[32c + l]
//   y = d * scale[2c + s] * q - dmin * min[2c + s]
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ4_K) == 144);

// Q5_K: as Q4_K with bytes 16-47 qh and bytes 48-175 qs; the fifth bit of
// value v = 64c + 32s + l is bit 2c + s of qh[l].
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ5_K) == 176);

// IQ4_XS: 8 sub-blocks of 32 values. bytes 0-1: d (f16), 2-3: scales_h (u16,
// bits 2b..2b+1 are bits 4-5 of sub-block b's scale), 4-7: scales_l (nibble
// b % 2 of byte b / 2: bits 0-3), 8-135: qs, 16 bytes a sub-block with
// nibbles as in Q4_0.  y = d * (scale - 32) * kIq4Values[nibble]
struct BlockIq4Xs {
  uint16_t d;
  uint16_t scales_h;
  uint8_t scales_l[4];
  uint8_t qs[128];
};
static_assert(sizeof(BlockIq4Xs) == 136);

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

// Q4_K's and Q5_K's sub-block j (of 8): 6-bit scale and min from 12 bytes
// (ggml's get_scale_min_k4). j < 4: low 6 bits of bytes j and j + 4; j >= 4:
// nibbles of byte j + 4, top 2 bits of bytes j - 4 and j.
void scale_min(int j, const uint8_t* q, int& scale, int& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q4_K and Q5_K: the same sub-blocks, scales and mins; Q5_K adds qh.
template <class Block>
void dequantize_q45_k(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i) {
    const auto b = load_block<Block>(src, i);
    const float d = f16_to_f32(b.d), dmin = f16_to_f32(b.dmin);
    float* y = out + 256 * i;
    for (int sub = 0; sub < 8; ++sub) {
      int scale, min;
      scale_min(sub, b.scales, scale, min);
      const float dl = d * float(scale), ml = dmin * float(min);
      const int c = sub / 2, shift = 4 * (sub % 2);
      for (int l = 0; l < 32; ++l) {
        int q = (b.qs[32 * c + l] >> shift) & 0xF;
        if constexpr (requires { b.qh; }) q |= ((b.qh[l] >> sub) & 1) << 4;
        y[32 * sub + l] = dl * float(q) - ml;
      }
    }
  }
}

}  // namespace

void dequantize_q2_k(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i) {
    const auto b = load_block<BlockQ2_K>(src, i);
    const float d = f16_to_f32(b.d), dmin = f16_to_f32(b.dmin);
    float* y = out + 256 * i;
    for (int v = 0; v < 256; ++v) {
      const int h = v / 128, j = (v / 32) % 4, l = v % 32;
      const int q = (b.qs[32 * h + l] >> (2 * j)) & 3;
      const uint8_t s = b.scales[v / 16];
      y[v] = d * float(s & 0xF) * float(q) - dmin * float(s >> 4);
    }
  }
}

void dequantize_q3_k(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i) {
    const auto b = load_block<BlockQ3_K>(src, i);
    const float d = f16_to_f32(b.d);
    int scale[16];
    for (int k = 0; k < 16; ++k) {
      const int low = k < 8 ? b.scales[k] & 0xF : b.scales[k - 8] >> 4;
      const int high = (b.scales[8 + k % 4] >> (2 * (k / 4))) & 3;
      scale[k] = (low | high << 4) - 32;
    }
    float* y = out + 256 * i;
    for (int v = 0; v < 256; ++v) {
      const int h = v / 128, j = (v / 32) % 4, l = v % 32;
      const int low = (b.qs[32 * h + l] >> (2 * j)) & 3;
      const bool bit = (b.hmask[l] >> (4 * h + j)) & 1;
      y[v] = d * float(scale[v / 16]) * float(low - (bit ? 0 : 4));
    }
  }
}

void dequantize_q4_k(const uint8_t* src, size_t blocks, float* out) {
  dequantize_q45_k<BlockQ4_K>(src, blocks, out);
}

void dequantize_q5_k(const uint8_t* src, size_t blocks, float* out) {
  dequantize_q45_k<BlockQ5_K>(src, blocks, out);
}

void dequantize_iq4_xs(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i) {
    const auto b = load_block<BlockIq4Xs>(src, i);
    const float d = f16_to_f32(b.d);
    float* y = out + 256 * i;
    for (int sub = 0; sub < 8; ++sub) {
      const int low = (b.scales_l[sub / 2] >> (4 * (sub % 2))) & 0xF;
      const int high = (b.scales_h >> (2 * sub)) & 3;
      const float dl = d * float((low | high << 4) - 32);
      const uint8_t* qs = b.qs + 16 * sub;
      for (int j = 0; j < 16; ++j) {
        y[32 * sub + j] = dl * float(kIq4Values[qs[j] & 0xF]);
        y[32 * sub + j + 16] = dl * float(kIq4Values[qs[j] >> 4]);
      }
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

}  // namespace wquant
