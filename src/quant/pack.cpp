#include "wquant/quant/pack.h"

#include <cstring>

#include "wquant/core/error.h"

namespace wquant {
namespace {

void check_bits(const char* what, int bits, bool allow_3) {
  if (bits == 2 || bits == 4 || bits == 8 || (allow_3 && bits == 3)) return;
  fail(what, ": bits = ", bits, allow_3 ? ", expected 2, 3, 4 or 8" : ", expected 2, 4 or 8");
}

// Returns q + 2^(bits-1), the unsigned code stored in the packed layouts.
uint32_t offset_code(const char* what, int8_t q, int bits, int64_t index) {
  const int offset = 1 << (bits - 1);
  if (q < -offset || q >= offset) {
    fail(what, ": value ", int(q), " at index ", index, " does not fit in ", bits, " bits");
  }
  return uint32_t(q + offset);
}

}  // namespace

std::vector<uint8_t> pack_bytes(const int8_t* q, size_t n, int bits) {
  check_bits("pack_bytes", bits, /*allow_3=*/false);
  if (bits == 8) {
    std::vector<uint8_t> out(n);
    if (n) std::memcpy(out.data(), q, n);
    return out;
  }
  const size_t per_byte = size_t(8 / bits);
  std::vector<uint8_t> out((n + per_byte - 1) / per_byte, 0);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t u = offset_code("pack_bytes", q[i], bits, int64_t(i));
    out[i / per_byte] |= uint8_t(u << ((i % per_byte) * bits));
  }
  return out;
}

void unpack_bytes(const uint8_t* packed, size_t n, int bits, int8_t* out) {
  check_bits("unpack_bytes", bits, /*allow_3=*/false);
  if (bits == 8) {
    if (n) std::memcpy(out, packed, n);
    return;
  }
  const size_t per_byte = size_t(8 / bits);
  const uint32_t mask = (1u << bits) - 1;
  const int offset = 1 << (bits - 1);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t u = (packed[i / per_byte] >> ((i % per_byte) * bits)) & mask;
    out[i] = int8_t(int(u) - offset);
  }
}

int64_t packed_int32_cols(int64_t cols, int bits) {
  return (cols * bits + 31) / 32;
}

std::vector<int32_t> pack_int32_rows(const int8_t* q, int64_t rows, int64_t cols, int bits) {
  check_bits("pack_int32_rows", bits, /*allow_3=*/true);
  if (rows < 0 || cols < 0) fail("pack_int32_rows: negative shape [", rows, ", ", cols, "]");
  const int64_t words = packed_int32_cols(cols, bits);
  std::vector<uint32_t> stream(size_t(rows * words), 0);
  for (int64_t r = 0; r < rows; ++r) {
    uint32_t* row = stream.data() + r * words;
    for (int64_t c = 0; c < cols; ++c) {
      const uint32_t u = offset_code("pack_int32_rows", q[r * cols + c], bits, r * cols + c);
      const int64_t bit = c * bits;
      const int shift = int(bit % 32);
      row[bit / 32] |= u << shift;
      // A 3-bit value starting at bit 30 or 31 spills its high bits into the
      // next word (shift + bits > 32 never happens for 2, 4, 8 bits).
      if (shift + bits > 32) row[bit / 32 + 1] |= u >> (32 - shift);
    }
  }
  // uint32 -> int32 keeps the bit pattern (modular conversion since C++20).
  return std::vector<int32_t>(stream.begin(), stream.end());
}

void unpack_int32_rows(const int32_t* packed, int64_t rows, int64_t cols, int bits, int8_t* out) {
  check_bits("unpack_int32_rows", bits, /*allow_3=*/true);
  if (rows < 0 || cols < 0) fail("unpack_int32_rows: negative shape [", rows, ", ", cols, "]");
  const int64_t words = packed_int32_cols(cols, bits);
  const uint32_t mask = (1u << bits) - 1;
  const int offset = 1 << (bits - 1);
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* row = packed + r * words;
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t bit = c * bits;
      const int shift = int(bit % 32);
      uint32_t u = uint32_t(row[bit / 32]) >> shift;
      if (shift + bits > 32) u |= uint32_t(row[bit / 32 + 1]) << (32 - shift);
      out[r * cols + c] = int8_t(int(u & mask) - offset);
    }
  }
}

std::vector<int8_t> unpack_zero_points_dim0(const int32_t* packed, int64_t rows, int64_t groups, int bits) {
  // Unpack the transposed rows (one per group), then transpose to [rows, groups].
  const int64_t words = packed_int32_cols(rows, bits);
  std::vector<int32_t> by_group(size_t(words * groups));
  for (int64_t w = 0; w < words; ++w)
    for (int64_t g = 0; g < groups; ++g) by_group[size_t(g * words + w)] = packed[w * groups + g];
  std::vector<int8_t> unpacked(size_t(groups * rows));
  unpack_int32_rows(by_group.data(), groups, rows, bits, unpacked.data());
  std::vector<int8_t> out(size_t(rows * groups));
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t r = 0; r < rows; ++r) out[size_t(r * groups + g)] = unpacked[size_t(g * rows + r)];
  return out;
}

}  // namespace wquant
