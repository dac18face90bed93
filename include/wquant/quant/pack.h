// Bit packing of small signed integers (2, 3, 4 bits; 8 is a plain copy).
// Before packing each value q is offset to unsigned: u = q + 2^(bits-1)
// (pack_bytes with 8 bits is the exception: it copies the int8 bytes as is).
//
// Byte layout (pack_bytes, 2 and 4 bits): values fill each byte from the
// least significant bits up: 4-bit: byte = u0 | u1 << 4; 2-bit: byte =
// u0 | u1 << 2 | u2 << 4 | u3 << 6. The last byte is zero-padded.
//
// int32 layout (pack_int32_rows): bit for bit the compressed-tensors
// "pack-quantized" format, `pack_to_int32(value, num_bits, packed_dim=1)`
// (compressed_tensors/compressors/pack_quantized/helpers.py, version 0.20).
// Each row is packed on its own as one dense little-endian bit stream:
// value i of the row occupies stream bits [i*bits, (i+1)*bits), and stream
// bit p is bit p % 32 of word p / 32. A row takes ceil(cols * bits / 32)
// words; the bits after the last value are 0. For 2, 4 and 8 bits every
// word holds exactly 32 / bits whole values. For 3 bits values straddle
// words: 32 values fill exactly 3 words, and e.g. value 10 has its low 2
// bits in bits 30..31 of word 0 and its high bit in bit 0 of word 1.
// (Older compressed-tensors releases packed floor(32 / bits) = 10 values per
// word for 3 bits, leaving 2 bits unused; the current dense layout is what
// its unpack_from_int32 reads.) Words are stored as int32, so a word whose
// top bit is set is negative.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wquant {

// Returns the n values packed into ceil(n * bits / 8) bytes. bits: 2 or 4 (8: copy).
// Throws Error if bits is unsupported or a value is outside [-2^(bits-1), 2^(bits-1)).
std::vector<uint8_t> pack_bytes(const int8_t* q, size_t n, int bits);
// Writes the n values packed in `packed` to out.
void unpack_bytes(const uint8_t* packed, size_t n, int bits, int8_t* out);

// Returns [rows, packed_int32_cols(cols, bits)] int32 words, row-major. bits: 2, 3, 4, 8.
// Throws Error if bits is unsupported or a value is outside [-2^(bits-1), 2^(bits-1)).
std::vector<int32_t> pack_int32_rows(const int8_t* q, int64_t rows, int64_t cols, int bits);
// Writes the [rows, cols] values packed by pack_int32_rows to out.
void unpack_int32_rows(const int32_t* packed, int64_t rows, int64_t cols, int bits, int8_t* out);

// Returns the [rows, groups] int8 zero-points of a compressed-tensors
// weight_zero_point tensor, which packs them along dim 0: int32
// [packed_int32_cols(rows, bits), groups], column g being pack_int32_rows of
// the rows' zero-points of group g. Throws Error as unpack_int32_rows.
std::vector<int8_t> unpack_zero_points_dim0(const int32_t* packed, int64_t rows, int64_t groups, int bits);

// Returns the number of int32 words per packed row: ceil(cols * bits / 32).
int64_t packed_int32_cols(int64_t cols, int bits);

}  // namespace wquant
