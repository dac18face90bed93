// Internal: the generated Unicode tables behind wquant/tokenizer/unicode.h.
//
// unicode_category_tables.cpp and unicode_decomposition_tables.cpp are written
// by gen_unicode_tables.py (next to this file), which probes the Hugging Face
// `tokenizers` package code point by code point:
//   /root/.cache/wquant/venv/bin/python src/tokenizer/gen_unicode_tables.py src/tokenizer
// Every table is sorted by code point and its entries do not overlap, so a
// lookup is a binary search.
#pragma once

#include <cstdint>
#include <span>

namespace wquant::unicode_tables {

// Code points first..last, inclusive.
struct CodePointRange {
  char32_t first;
  char32_t last;
};

// Lowercase mappings in runs: code points first, first + stride, ..., last
// map to themselves + delta (stride 2 covers the Latin/Cyrillic blocks where
// upper and lower case alternate).
struct LowercaseRun {
  char32_t first;
  char32_t last;
  int32_t delta;
  int32_t stride;
};

// One canonical decomposition step from UnicodeData.txt: code_point ->
// first second (second == 0 for singletons); applied recursively.
struct Decomposition {
  char32_t code_point;
  char32_t first;
  char32_t second;
};

// A block of CJK compatibility ideographs first..last whose singleton
// decompositions are kCjkTarget[offset + (c - first)] (0: no decomposition).
struct CjkBlock {
  char32_t first;
  char32_t last;
  uint32_t offset;
};

extern const std::span<const CodePointRange> kLetter;       // \p{L}
extern const std::span<const CodePointRange> kNumber;       // \p{N}
extern const std::span<const CodePointRange> kNumericOnly;  // char::is_numeric minus \p{N}
extern const std::span<const CodePointRange> kPunctuation;  // BertPreTokenizer punctuation
extern const std::span<const CodePointRange> kRemoved;      // dropped by clean_text
extern const std::span<const CodePointRange> kMark;         // Mn
extern const std::span<const LowercaseRun> kLowercase;
extern const std::span<const Decomposition> kDecomposition;  // except CJK and Hangul
extern const std::span<const char32_t> kCjkTarget;
extern const std::span<const CjkBlock> kCjkBlock;

}  // namespace wquant::unicode_tables
