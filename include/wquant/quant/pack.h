// Bit packing of small signed integers (2, 3, 4 bits; 8 is a plain copy).
// Before packing each value q is offset to unsigned: u = q + 2^(bits-1).
//
// Byte layout (pack_bytes, 2 and 4 bits): values fill each byte from the
// least significant bits up: 4-bit: byte = u0 | u1 << 4; 2-bit: byte =
// u0 | u1 << 2 | u2 << 4 | u3 << 6. The last byte is zero-padded.
//
// int32 layout (pack_int32_rows, the compressed-tensors "pack-quantized"
// format): each row is packed on its own into ceil(cols / (32 / bits))
// words; word j holds values j*k .. j*k+k-1 (k = 32 / bits), value j*k+i in
// bits [i*bits, (i+1)*bits). The row is zero-padded (u = 0) to whole words.
// 3 bits: k = 10, the top 2 bits of each word are 0.
#pragma once

#include <cstdint>
#include <vector>

namespace wquant {

// Returns the n values packed into ceil(n * bits / 8) bytes. bits: 2 or 4 (8: copy).
std::vector<uint8_t> pack_bytes(const int8_t* q, size_t n, int bits);
// Writes the n values packed in `packed` to out.
void unpack_bytes(const uint8_t* packed, size_t n, int bits, int8_t* out);

// Returns [rows, ceil(cols / (32 / bits))] int32 words, row-major. bits: 2, 3, 4, 8.
std::vector<int32_t> pack_int32_rows(const int8_t* q, int64_t rows, int64_t cols, int bits);
// Writes the [rows, cols] values packed by pack_int32_rows to out.
void unpack_int32_rows(const int32_t* packed, int64_t rows, int64_t cols, int bits, int8_t* out);

// Returns the number of int32 words per packed row.
int64_t packed_int32_cols(int64_t cols, int bits);

}  // namespace wquant
