// dequantize_ggml on hand-made blocks, with the expected values worked out by
// hand from the ggml block layouts (see the struct comments in gguf_quants.cpp).
#include <gtest/gtest.h>

#include <cstring>

#include "wquant/core/error.h"
#include "wquant/io/gguf.h"

namespace wquant {
namespace {

std::vector<float> dequant(GgmlType type, const std::vector<uint8_t>& bytes, size_t n) {
  std::vector<float> out(n);
  dequantize_ggml(uint32_t(type), bytes.data(), n, out.data());
  return out;
}

TEST(GgmlDequant, BlockLayoutsMatchGgml) {
  // From ggml's type_traits: block values, block bytes.
  EXPECT_EQ(ggml_block_layout(uint32_t(GgmlType::Q4_0))->bytes, 18u);   // f16 d + 16
  EXPECT_EQ(ggml_block_layout(uint32_t(GgmlType::Q4_1))->bytes, 20u);   // f16 d, m + 16
  EXPECT_EQ(ggml_block_layout(uint32_t(GgmlType::Q8_0))->bytes, 34u);   // f16 d + 32
  EXPECT_EQ(ggml_block_layout(uint32_t(GgmlType::Q6_K))->bytes, 210u);  // 128 + 64 + 16 + 2
  EXPECT_EQ(ggml_block_layout(uint32_t(GgmlType::Q6_K))->values, 256u);
  EXPECT_EQ(ggml_block_layout(uint32_t(GgmlType::BF16))->bytes, 2u);
  EXPECT_EQ(ggml_block_layout(uint32_t(GgmlType::IQ2_XXS))->bytes, 66u);  // f16 d + 64
  EXPECT_EQ(ggml_block_layout(uint32_t(GgmlType::IQ3_S))->bytes, 110u);   // 2 + 64 + 8 + 32 + 4
  EXPECT_EQ(ggml_block_layout(uint32_t(GgmlType::IQ1_M))->bytes, 56u);   // 32 + 16 + 8, no separate d
  EXPECT_FALSE(ggml_block_layout(39).has_value());  // MXFP4: not known here
  EXPECT_EQ(ggml_type_name(14), "Q6_K");
  EXPECT_EQ(ggml_type_name(39), "type39");
}

TEST(GgmlDequant, F16AndBf16) {
  // f16 0x3c00 = 1.0, 0xc000 = -2.0, 0x0001 = 2^-24 (smallest subnormal).
  EXPECT_EQ(dequant(GgmlType::F16, {0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00}, 3),
            (std::vector<float>{1.0f, -2.0f, 5.9604644775390625e-8f}));
  // bf16 0x3f80 = 1.0 (upper half of f32 0x3f800000), 0xc040 = -3.0.
  EXPECT_EQ(dequant(GgmlType::BF16, {0x80, 0x3f, 0x40, 0xc0}, 2),
            (std::vector<float>{1.0f, -3.0f}));
}

TEST(GgmlDequant, Q8_0) {
  // d = f16 0x3800 = 0.5; qs = -128, -1, 0, 1, 127, then zeros.
  std::vector<uint8_t> block = {0x00, 0x38, 0x80, 0xff, 0x00, 0x01, 0x7f};
  block.resize(34, 0);
  const std::vector<float> v = dequant(GgmlType::Q8_0, block, 32);
  EXPECT_EQ(v[0], -64.0f);  // -128 * 0.5
  EXPECT_EQ(v[1], -0.5f);   //   -1 * 0.5
  EXPECT_EQ(v[2], 0.0f);
  EXPECT_EQ(v[3], 0.5f);    //    1 * 0.5
  EXPECT_EQ(v[4], 63.5f);   //  127 * 0.5
  EXPECT_EQ(v[31], 0.0f);
}

TEST(GgmlDequant, Q4_0) {
  // d = f16 0x4000 = 2.0. qs[0] = 0x9f: low nibble 15 -> value 0, high 9 ->
  // value 16. qs[1] = 0x08: low 8 -> value 1, high 0 -> value 17. Others 0x88.
  std::vector<uint8_t> block = {0x00, 0x40, 0x9f, 0x08};
  block.resize(18, 0x88);
  const std::vector<float> v = dequant(GgmlType::Q4_0, block, 32);
  EXPECT_EQ(v[0], 14.0f);    // (15 - 8) * 2
  EXPECT_EQ(v[16], 2.0f);    // ( 9 - 8) * 2
  EXPECT_EQ(v[1], 0.0f);     // ( 8 - 8) * 2
  EXPECT_EQ(v[17], -16.0f);  // ( 0 - 8) * 2
  for (int i : {2, 15, 18, 31}) EXPECT_EQ(v[i], 0.0f) << i;
}

TEST(GgmlDequant, Q4_1) {
  // d = f16 0x3800 = 0.5, m = f16 0xbc00 = -1.0. qs[0] = 0xf0: low 0 -> value
  // 0, high 15 -> value 16. qs[15] = 0x21: low 1 -> value 15, high 2 -> value 31.
  std::vector<uint8_t> block = {0x00, 0x38, 0x00, 0xbc, 0xf0};
  block.resize(19, 0x00);
  block.push_back(0x21);
  const std::vector<float> v = dequant(GgmlType::Q4_1, block, 32);
  EXPECT_EQ(v[0], -1.0f);   //  0 * 0.5 - 1
  EXPECT_EQ(v[16], 6.5f);   // 15 * 0.5 - 1
  EXPECT_EQ(v[15], -0.5f);  //  1 * 0.5 - 1
  EXPECT_EQ(v[31], 0.0f);   //  2 * 0.5 - 1
  EXPECT_EQ(v[1], -1.0f);   //  0 * 0.5 - 1
}

TEST(GgmlDequant, Q6_KHandPickedBits) {
  // Byte offsets: ql 0-127, qh 128-191, scales 192-207, d 208-209.
  std::vector<uint8_t> block(210, 0);
  block[0] = 0x21;    // ql[0]: low nibble 1 -> q[0], high nibble 2 -> q[64]
  block[128] = 0xe4;  // qh[0] = 0b11'10'01'00: q[0] += 0<<4, q[32] += 1<<4,
                      //                        q[64] += 2<<4, q[96] += 3<<4
  block[192 + 0] = 3;                   // scale of values 0-15
  block[192 + 2] = uint8_t(int8_t(-1)); // scale of values 32-47
  block[192 + 4] = 2;                   // scale of values 64-79
  block[192 + 6] = 1;                   // scale of values 96-111
  block[208] = 0x00;
  block[209] = 0x38;  // d = 0.5
  const std::vector<float> v = dequant(GgmlType::Q6_K, block, 256);
  EXPECT_EQ(v[0], -46.5f);  // q = 1:       0.5 *  3 * (1 - 32)
  EXPECT_EQ(v[1], -48.0f);  // q = 0:       0.5 *  3 * (0 - 32)
  EXPECT_EQ(v[32], 8.0f);   // q = 16:      0.5 * -1 * (16 - 32)
  EXPECT_EQ(v[64], 2.0f);   // q = 2 | 32:  0.5 *  2 * (34 - 32)
  EXPECT_EQ(v[96], 8.0f);   // q = 48:      0.5 *  1 * (48 - 32)
  EXPECT_EQ(v[16], 0.0f);   // scale[1] = 0
  EXPECT_EQ(v[128], 0.0f);  // second half: scales[8..15] = 0
}

// Packs 256 6-bit values the way ggml's quantize_row_q6_K_ref does, then
// checks every value comes back in place with its sub-block's scale.
TEST(GgmlDequant, Q6_KEveryPosition) {
  uint8_t q[256];
  for (int k = 0; k < 256; ++k) q[k] = uint8_t((k * 7 + 3) % 64);
  std::vector<uint8_t> block(210, 0);
  uint8_t* ql = block.data();
  uint8_t* qh = block.data() + 128;
  for (int j = 0; j < 256; j += 128) {
    for (int l = 0; l < 32; ++l) {
      ql[l] = uint8_t((q[j + l] & 0xf) | ((q[j + l + 64] & 0xf) << 4));
      ql[l + 32] = uint8_t((q[j + l + 32] & 0xf) | ((q[j + l + 96] & 0xf) << 4));
      qh[l] = uint8_t((q[j + l] >> 4) | ((q[j + l + 32] >> 4) << 2) |
                      ((q[j + l + 64] >> 4) << 4) | ((q[j + l + 96] >> 4) << 6));
    }
    ql += 64;
    qh += 32;
  }
  for (int s = 0; s < 16; ++s) block[192 + s] = uint8_t(int8_t(s - 8));
  block[208] = 0x00;
  block[209] = 0x38;  // d = 0.5
  const std::vector<float> v = dequant(GgmlType::Q6_K, block, 256);
  for (int k = 0; k < 256; ++k) {
    ASSERT_EQ(v[k], 0.5f * float(k / 16 - 8) * float(q[k] - 32)) << k;
  }
}

TEST(GgmlDequant, SeveralBlocks) {
  // Two Q8_0 blocks: d = 1.0 and d = 2.0, q = 3 everywhere.
  std::vector<uint8_t> bytes = {0x00, 0x3c};
  bytes.resize(34, 3);
  bytes.push_back(0x00);
  bytes.push_back(0x40);
  bytes.resize(68, 3);
  const std::vector<float> v = dequant(GgmlType::Q8_0, bytes, 64);
  EXPECT_EQ(v[31], 3.0f);
  EXPECT_EQ(v[32], 6.0f);
}

TEST(GgmlDequant, RejectsUnsupportedTypesAndPartialBlocks) {
  std::vector<uint8_t> bytes(256);
  std::vector<float> out(256);
  try {
    dequantize_ggml(uint32_t(GgmlType::Q8_1), bytes.data(), 32, out.data());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Q8_1 is not supported (supported: F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, "
                                         "Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ2_XXS, IQ2_XS, IQ3_XXS, IQ1_S, IQ4_NL, IQ3_S, IQ2_S, IQ4_XS, IQ1_M, BF16)"),
              std::string::npos) << e.what();
  }
  EXPECT_THROW(dequantize_ggml(uint32_t(GgmlType::Q4_0), bytes.data(), 16, out.data()), Error);
}

}  // namespace
}  // namespace wquant
