#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "wquant/core/error.h"
#include "wquant/quant/pack.h"

namespace wquant {
namespace {

std::vector<int8_t> random_values(size_t n, int bits, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-(1 << (bits - 1)), (1 << (bits - 1)) - 1);
  std::vector<int8_t> q(n);
  for (auto& v : q) v = int8_t(dist(rng));
  return q;
}

// 4-bit {-8, 7, 0, 1}: offset +8 gives u = {0, 15, 8, 9};
// byte0 = u0 | u1 << 4 = 0x0 | 0xF0 = 0xF0, byte1 = 8 | 9 << 4 = 0x98.
TEST(PackBytes, FourBitHandComputed) {
  const int8_t q[] = {-8, 7, 0, 1};
  EXPECT_EQ(pack_bytes(q, 4, 4), (std::vector<uint8_t>{0xF0, 0x98}));
}

// 2-bit {-2, -1, 0, 1, 1}: offset +2 gives u = {0, 1, 2, 3, 3};
// byte0 = 0 | 1 << 2 | 2 << 4 | 3 << 6 = 0x04 + 0x20 + 0xC0 = 0xE4;
// byte1 = 3 (the three unused 2-bit slots are zero padding).
TEST(PackBytes, TwoBitHandComputedWithPadding) {
  const int8_t q[] = {-2, -1, 0, 1, 1};
  EXPECT_EQ(pack_bytes(q, 5, 2), (std::vector<uint8_t>{0xE4, 0x03}));
}

// 8 bits is a copy of the int8 bytes (two's complement, no offset).
TEST(PackBytes, EightBitIsCopy) {
  const int8_t q[] = {-128, 127, 0, -1};
  EXPECT_EQ(pack_bytes(q, 4, 8), (std::vector<uint8_t>{0x80, 0x7F, 0x00, 0xFF}));
}

TEST(PackBytes, RoundTripRandom) {
  for (int bits : {2, 4, 8}) {
    for (size_t n : {0, 1, 3, 7, 64, 1001}) {
      const auto q = random_values(n, bits, uint32_t(bits * 1000 + n));
      const auto packed = pack_bytes(q.data(), n, bits);
      ASSERT_EQ(packed.size(), (n * bits + 7) / 8);
      std::vector<int8_t> back(n);
      unpack_bytes(packed.data(), n, bits, back.data());
      EXPECT_EQ(back, q) << "bits " << bits << " n " << n;
    }
  }
}

TEST(PackBytes, RejectsBadInput) {
  const int8_t q[] = {0, 8};  // 8 does not fit in 4 bits
  EXPECT_THROW(pack_bytes(q, 2, 4), Error);
  EXPECT_THROW(pack_bytes(q, 1, 3), Error);  // 3-bit byte packing is not a format
  int8_t out[2];
  const uint8_t packed[] = {0};
  EXPECT_THROW(unpack_bytes(packed, 1, 5, out), Error);
}

TEST(PackInt32, WordsPerRow) {
  EXPECT_EQ(packed_int32_cols(0, 4), 0);
  EXPECT_EQ(packed_int32_cols(8, 4), 1);
  EXPECT_EQ(packed_int32_cols(9, 4), 2);
  EXPECT_EQ(packed_int32_cols(16, 2), 1);
  EXPECT_EQ(packed_int32_cols(5, 8), 2);
  // 3 bits is dense: 10 values = 30 bits, 11 values = 33 bits, 32 values = 96 bits.
  EXPECT_EQ(packed_int32_cols(10, 3), 1);
  EXPECT_EQ(packed_int32_cols(11, 3), 2);
  EXPECT_EQ(packed_int32_cols(32, 3), 3);
  EXPECT_EQ(packed_int32_cols(33, 3), 4);
}

// Same values as the 4-bit byte test: u = {0, 15, 8, 9} at bits 0, 4, 8, 12:
// 0x0 | 0xF << 4 | 0x8 << 8 | 0x9 << 12 = 0x98F0. (compressed-tensors 0.20
// pack_to_int32 gives 0x98F0 for this input too.)
TEST(PackInt32, FourBitHandComputed) {
  const int8_t q[] = {-8, 7, 0, 1};
  EXPECT_EQ(pack_int32_rows(q, 1, 4, 4), (std::vector<int32_t>{0x98F0}));
}

// u = {0, 1, 2, 3, 3} at bits 0, 2, 4, 6, 8: 0xE4 | 3 << 8 = 0x3E4.
TEST(PackInt32, TwoBitHandComputed) {
  const int8_t q[] = {-2, -1, 0, 1, 1};
  EXPECT_EQ(pack_int32_rows(q, 1, 5, 2), (std::vector<int32_t>{0x3E4}));
}

// 3 bits, 11 values; offset +4 gives u = {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 7}.
// Value i sits at stream bit 3i. Values 0..9 fill bits 0..29 of word 0:
//   1<<3 = 0x8, 2<<6 = 0x80, 3<<9 = 0x600, 4<<12 = 0x4000, 5<<15 = 0x28000,
//   6<<18 = 0x180000, 7<<21 = 0xE00000, 0<<24, 1<<27 = 0x8000000
//   sum = 0x08FAC688.
// Value 10 (u = 7 = 0b111) starts at bit 30: its low two bits (0b11) go to
// bits 30..31 of word 0 (+0xC0000000 -> 0xC8FAC688) and its high bit to
// bit 0 of word 1 (= 0x1).
TEST(PackInt32, ThreeBitStraddlesWords) {
  const int8_t q[] = {-4, -3, -2, -1, 0, 1, 2, 3, -4, -3, 3};
  const auto packed = pack_int32_rows(q, 1, 11, 3);
  EXPECT_EQ(packed, (std::vector<int32_t>{int32_t(0xC8FAC688u), 0x1}));
  int8_t back[11];
  unpack_int32_rows(packed.data(), 1, 11, 3, back);
  EXPECT_EQ(std::vector<int8_t>(back, back + 11), std::vector<int8_t>(q, q + 11));
}

// 8 bits: u = q + 128 = {0, 255, 128, 129, 133}, four per word from the low
// byte up: word0 = 0x81'80'FF'00 (negative as int32), word1 = 0x85.
TEST(PackInt32, EightBitHandComputed) {
  const int8_t q[] = {-128, 127, 0, 1, 5};
  EXPECT_EQ(pack_int32_rows(q, 1, 5, 8),
            (std::vector<int32_t>{int32_t(0x8180FF00u), 0x85}));
}

// Rows are packed independently and each is zero-padded to whole words:
// 9 four-bit values take 2 words per row. Row 0 all 7 (u = 15): 0xFFFFFFFF
// then 0x0000000F; row 1 all -8 (u = 0): 0, 0.
TEST(PackInt32, RowsPaddedIndependently) {
  std::vector<int8_t> q(18);
  for (int i = 0; i < 9; ++i) q[i] = 7;
  for (int i = 9; i < 18; ++i) q[i] = -8;
  EXPECT_EQ(pack_int32_rows(q.data(), 2, 9, 4),
            (std::vector<int32_t>{int32_t(0xFFFFFFFFu), 0xF, 0, 0}));
}

TEST(PackInt32, RoundTripRandom) {
  for (int bits : {2, 3, 4, 8}) {
    for (int64_t cols : {1, 5, 10, 11, 21, 32, 33, 95, 130}) {
      const int64_t rows = 3;
      const auto q = random_values(size_t(rows * cols), bits, uint32_t(bits * 7919 + cols));
      const auto packed = pack_int32_rows(q.data(), rows, cols, bits);
      ASSERT_EQ(int64_t(packed.size()), rows * packed_int32_cols(cols, bits));
      std::vector<int8_t> back(q.size());
      unpack_int32_rows(packed.data(), rows, cols, bits, back.data());
      EXPECT_EQ(back, q) << "bits " << bits << " cols " << cols;
      // Unpacking one row from its own offset gives that row (QuantizedLinear
      // relies on this).
      std::vector<int8_t> row(static_cast<size_t>(cols));
      unpack_int32_rows(packed.data() + 2 * packed_int32_cols(cols, bits), 1, cols, bits,
                        row.data());
      EXPECT_EQ(row, std::vector<int8_t>(q.begin() + 2 * cols, q.end()));
    }
  }
}

// The bits after a row's last value are zero, whatever the values are.
TEST(PackInt32, PaddingBitsAreZero) {
  for (int bits : {2, 3, 4, 8}) {
    const int64_t cols = 7;  // 14, 21, 28, 56 bits: never a whole number of words
    const auto q = random_values(size_t(cols), bits, 42);
    const auto packed = pack_int32_rows(q.data(), 1, cols, bits);
    const int used = int(cols * bits % 32);
    EXPECT_EQ(uint32_t(packed.back()) >> used, 0u) << "bits " << bits;
  }
}

TEST(PackInt32, RejectsBadInput) {
  const int8_t q[] = {4};  // 4 does not fit in 3 bits ([-4, 3])
  EXPECT_THROW(pack_int32_rows(q, 1, 1, 3), Error);
  EXPECT_THROW(pack_int32_rows(q, 1, 1, 5), Error);
  EXPECT_THROW(pack_int32_rows(q, -1, 1, 8), Error);
}

}  // namespace
}  // namespace wquant
