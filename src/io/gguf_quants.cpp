// ggml tensor types: names, block layouts, and scalar reference dequantizers
// for F32, F16, BF16 and the 32-value block types Q8_0, Q4_0, Q4_1, Q5_0,
// Q5_1, IQ4_NL, following ggml-quants.c (dequantize_row_*); the 256-value
// K-quants are in gguf_kquants.cpp. Results are bit-identical to ggml's and to
// the `gguf` Python package's numpy dequantizers, whatever the evaluation
// order or fused multiply-adds: every product is exact in f32 (an f16 d has
// 11 significant bits; times Q8_0's 8-bit q, or Q6_K's 8-bit scale and 6-bit
// q = 11 + 7 + 5 magnitude bits, stays within f32's 24), so the only rounding
// is the single add of a minimum (Q4_1, Q5_1, and the K-quants' - dmin * m).
//
// All multi-byte fields are little-endian, like the files. The block structs
// are read by memcpy into a local, so the host must be little-endian too.
#include <bit>
#include <cstring>

#include "wquant/core/error.h"
#include "wquant/core/half.h"
#include "wquant/io/gguf.h"
#include "gguf_blocks.h"

namespace wquant {
namespace {

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

// Q5_0: 32 values. bytes 0-1: d (f16); bytes 2-5: qh (u32, bit j = the
// fifth bit of value j); bytes 6-21: qs, nibbles as in Q4_0.
// value = ((nibble | qh bit << 4) - 16) * d
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_0) == 22);

// Q5_1: 32 values. bytes 0-1: d, 2-3: m (f16); bytes 4-7: qh; bytes 8-23: qs.
// value = (nibble | qh bit << 4) * d + m
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_1) == 24);

// IQ4_NL: 32 values, nibbles as in Q4_0 indexing a non-linear table.
// value = d * kIq4Values[nibble]
struct BlockIq4Nl {
  uint16_t d;
  uint8_t qs[16];
};
static_assert(sizeof(BlockIq4Nl) == 18);

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

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void dequantize_q5_0(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i) {
    const auto b = load_block<BlockQ5_0>(src, i);
    const float d = f16_to_f32(b.d);
    const uint32_t qh = load_u32(b.qh);
    for (int j = 0; j < 16; ++j) {
      const int lo = (b.qs[j] & 0x0F) | int((qh >> j) & 1) << 4;
      const int hi = (b.qs[j] >> 4) | int((qh >> (j + 16)) & 1) << 4;
      out[32 * i + j] = float(lo - 16) * d;
      out[32 * i + j + 16] = float(hi - 16) * d;
    }
  }
}

void dequantize_q5_1(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i) {
    const auto b = load_block<BlockQ5_1>(src, i);
    const float d = f16_to_f32(b.d);
    const float m = f16_to_f32(b.m);
    const uint32_t qh = load_u32(b.qh);
    for (int j = 0; j < 16; ++j) {
      const int lo = (b.qs[j] & 0x0F) | int((qh >> j) & 1) << 4;
      const int hi = (b.qs[j] >> 4) | int((qh >> (j + 16)) & 1) << 4;
      out[32 * i + j] = float(lo) * d + m;
      out[32 * i + j + 16] = float(hi) * d + m;
    }
  }
}

void dequantize_iq4_nl(const uint8_t* src, size_t blocks, float* out) {
  for (size_t i = 0; i < blocks; ++i) {
    const auto b = load_block<BlockIq4Nl>(src, i);
    const float d = f16_to_f32(b.d);
    for (int j = 0; j < 16; ++j) {
      out[32 * i + j] = d * float(kIq4Values[b.qs[j] & 0x0F]);
      out[32 * i + j + 16] = d * float(kIq4Values[b.qs[j] >> 4]);
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
    case GgmlType::IQ4_NL: return "IQ4_NL";
    case GgmlType::IQ4_XS: return "IQ4_XS";
    case GgmlType::IQ2_XXS: return "IQ2_XXS";
    case GgmlType::IQ2_XS: return "IQ2_XS";
    case GgmlType::IQ2_S: return "IQ2_S";
    case GgmlType::IQ3_XXS: return "IQ3_XXS";
    case GgmlType::IQ3_S: return "IQ3_S";
    case GgmlType::IQ1_S: return "IQ1_S";
    case GgmlType::IQ1_M: return "IQ1_M";
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
    case GgmlType::IQ4_NL: return GgmlBlockLayout{32, 18};
    case GgmlType::IQ4_XS: return GgmlBlockLayout{256, 136};
    case GgmlType::IQ2_XXS: return GgmlBlockLayout{256, 66};
    case GgmlType::IQ2_XS: return GgmlBlockLayout{256, 74};
    case GgmlType::IQ2_S: return GgmlBlockLayout{256, 82};
    case GgmlType::IQ3_XXS: return GgmlBlockLayout{256, 98};
    case GgmlType::IQ3_S: return GgmlBlockLayout{256, 110};
    case GgmlType::IQ1_S: return GgmlBlockLayout{256, 50};
    case GgmlType::IQ1_M: return GgmlBlockLayout{256, 56};
  }
  return std::nullopt;
}

bool ggml_can_dequantize(uint32_t type) {
  switch (GgmlType(type)) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16:
    case GgmlType::Q8_0: case GgmlType::Q4_0: case GgmlType::Q4_1:
    case GgmlType::Q5_0: case GgmlType::Q5_1: case GgmlType::IQ4_NL:
    case GgmlType::Q2_K: case GgmlType::Q3_K: case GgmlType::Q4_K:
    case GgmlType::Q5_K: case GgmlType::Q6_K: case GgmlType::IQ4_XS:
    case GgmlType::IQ2_XXS: case GgmlType::IQ2_XS: case GgmlType::IQ2_S:
    case GgmlType::IQ3_XXS: case GgmlType::IQ3_S: case GgmlType::IQ1_S: case GgmlType::IQ1_M:
      return true;
    default:
      return false;
  }
}

std::string ggml_dequantizable_names() {
  std::string names;
  for (uint32_t type = 0; type < 64; ++type)
    if (ggml_can_dequantize(type)) names += (names.empty() ? "" : ", ") + ggml_type_name(type);
  return names;
}

void dequantize_ggml(uint32_t type, const uint8_t* src, size_t n, float* out) {
  if (!ggml_can_dequantize(type)) {
    fail("dequantization of ggml type ", ggml_type_name(type), " is not supported (supported: ",
         ggml_dequantizable_names(), ")");
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
    case GgmlType::Q5_0: return dequantize_q5_0(src, blocks, out);
    case GgmlType::Q5_1: return dequantize_q5_1(src, blocks, out);
    case GgmlType::IQ4_NL: return dequantize_iq4_nl(src, blocks, out);
    case GgmlType::Q2_K: return dequantize_q2_k(src, blocks, out);
    case GgmlType::Q3_K: return dequantize_q3_k(src, blocks, out);
    case GgmlType::Q4_K: return dequantize_q4_k(src, blocks, out);
    case GgmlType::Q5_K: return dequantize_q5_k(src, blocks, out);
    case GgmlType::Q6_K: return dequantize_q6_k(src, blocks, out);
    case GgmlType::IQ4_XS: return dequantize_iq4_xs(src, blocks, out);
    case GgmlType::IQ2_XXS: return dequantize_iq2_xxs(src, blocks, out);
    case GgmlType::IQ2_XS: return dequantize_iq2_xs(src, blocks, out);
    case GgmlType::IQ2_S: return dequantize_iq2_s(src, blocks, out);
    case GgmlType::IQ3_XXS: return dequantize_iq3_xxs(src, blocks, out);
    case GgmlType::IQ3_S: return dequantize_iq3_s(src, blocks, out);
    case GgmlType::IQ1_S: return dequantize_iq1_s(src, blocks, out);
    case GgmlType::IQ1_M: return dequantize_iq1_m(src, blocks, out);
    default: break;
  }
}

}  // namespace wquant
