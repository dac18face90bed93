// Pre-tokenizers, as in the Hugging Face `tokenizers` package: they cut
// normalized text into the pieces that the model (BPE, WordPiece) then
// tokenizes one at a time. Pieces are views into the input.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wquant {

// Returns the pieces of `text` (valid UTF-8) matched by GPT-2's pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// in order. Every code point is matched by some branch, so the pieces cover
// the whole text. Implemented by hand: the classes come from unicode.h.
std::vector<std::string_view> split_gpt2(std::string_view text);

// Returns the pieces of BertPreTokenizer: text split on white space (which
// is dropped) and on punctuation (each punctuation character is a piece).
std::vector<std::string_view> split_bert(std::string_view text);

// Returns the pieces of the Digits pre-tokenizer: numeric code points are
// isolated, each on its own if `individual_digits`, else in runs.
std::vector<std::string_view> split_digits(std::string_view text, bool individual_digits);

// Returns the words of text between runs of white space, which is dropped
// (WhitespaceSplit; white space as Rust's char::is_whitespace).
std::vector<std::string_view> split_white_space(std::string_view text);

// Returns text cut after each occurrence of `delimiter`, which stays at the
// end of its piece (Split with a string pattern, MergedWithPrevious).
std::vector<std::string_view> split_after(std::string_view text, std::string_view delimiter);

// Returns `bytes` spelled in GPT-2's byte-level alphabet: every byte becomes
// one printable code point (bytes_to_unicode in GPT-2's encoder.py: '!'..'~',
// U+00A1..U+00AC and U+00AE..U+00FF stand for themselves, the other 68 bytes
// for U+0100.. in order, so space is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A).
std::string byte_level_encode(std::string_view bytes);

// Returns the byte that code point c stands for in the byte-level alphabet,
// or -1 if c is not one of its 256 characters.
int byte_level_byte(char32_t c);

}  // namespace wquant
