// Pre-tokenizers: see wquant/tokenizer/pre_tokenize.h.
#include "wquant/tokenizer/pre_tokenize.h"

#include <array>

#include "wquant/tokenizer/unicode.h"

namespace wquant {
namespace {

// Code points of `text` with the byte offset where each starts;
// offset[size()] is text.size().
struct CodePoints {
  std::u32string chars;
  std::vector<size_t> offset;

  explicit CodePoints(std::string_view text) {
    for (size_t pos = 0; pos < text.size();) {
      offset.push_back(pos);
      chars.push_back(unicode::next_code_point(text, pos));
    }
    offset.push_back(text.size());
  }
  size_t size() const { return chars.size(); }
};

enum class Kind { Space, Letter, Number, Other };

Kind kind_of(char32_t c) {
  if (unicode::is_white_space(c)) return Kind::Space;
  if (unicode::is_letter(c)) return Kind::Letter;
  if (unicode::is_number(c)) return Kind::Number;
  return Kind::Other;
}

// Returns the length in code points of the contraction ('s 't 're 've 'm 'll
// 'd, lowercase only) at chars[i], or 0.
size_t contraction_at(const std::u32string& chars, size_t i) {
  if (chars[i] != U'\'' || i + 1 >= chars.size()) return 0;
  const char32_t a = chars[i + 1];
  if (a == U's' || a == U't' || a == U'm' || a == U'd') return 2;
  if (i + 2 >= chars.size()) return 0;
  const char32_t b = chars[i + 2];
  if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l')) return 3;
  return 0;
}

// Returns the end of the GPT-2 match starting at code point i.
size_t gpt2_match_end(const std::u32string& chars, const std::vector<Kind>& kinds, size_t i) {
  const size_t n = chars.size();
  if (size_t len = contraction_at(chars, i)) return i + len;
  // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional U+0020, then a
  // run of one class. A space followed by white space (or nothing) falls
  // through to the white-space branches.
  size_t j = i;
  if (chars[i] == U' ' && i + 1 < n && kinds[i + 1] != Kind::Space) j = i + 1;
  if (kinds[j] != Kind::Space) {
    const Kind run = kinds[j];
    while (j < n && kinds[j] == run) ++j;
    return j;
  }
  // `\s+(?!\S)`: the white-space run, less its last character when a
  // non-space follows (that one may start the next piece as ` ?X`); a lone
  // white-space character before a non-space is left to `\s+`.
  size_t k = i;
  while (k < n && kinds[k] == Kind::Space) ++k;
  if (k == n || k - i == 1) return k;
  return k - 1;
}

constexpr std::array<char32_t, 256> make_byte_alphabet() {
  std::array<char32_t, 256> table{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    table[b] = printable ? char32_t(b) : next++;
  }
  return table;
}
constexpr std::array<char32_t, 256> kByteAlphabet = make_byte_alphabet();

// kByteOf[c] is the byte for code point c < 324 (256 + the 68 moved bytes).
constexpr std::array<int16_t, 324> make_byte_of() {
  std::array<int16_t, 324> inverse{};
  for (auto& v : inverse) v = -1;
  for (int b = 0; b < 256; ++b) inverse[kByteAlphabet[b]] = int16_t(b);
  return inverse;
}
constexpr std::array<int16_t, 324> kByteOf = make_byte_of();

}  // namespace

std::vector<std::string_view> split_gpt2(std::string_view text) {
  const CodePoints cps(text);
  std::vector<Kind> kinds(cps.size());
  for (size_t i = 0; i < cps.size(); ++i) kinds[i] = kind_of(cps.chars[i]);
  std::vector<std::string_view> pieces;
  for (size_t i = 0; i < cps.size();) {
    const size_t end = gpt2_match_end(cps.chars, kinds, i);
    pieces.push_back(text.substr(cps.offset[i], cps.offset[end] - cps.offset[i]));
    i = end;
  }
  return pieces;
}

std::vector<std::string_view> split_bert(std::string_view text) {
  const CodePoints cps(text);
  std::vector<std::string_view> pieces;
  size_t start = 0;  // first code point of the piece being built
  auto flush = [&](size_t end) {
    if (end > start)
      pieces.push_back(text.substr(cps.offset[start], cps.offset[end] - cps.offset[start]));
  };
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps.chars[i];
    if (unicode::is_white_space(c)) {
      flush(i);
      start = i + 1;
    } else if (unicode::is_bert_punctuation(c)) {
      flush(i);
      start = i;
      flush(i + 1);
      start = i + 1;
    }
  }
  flush(cps.size());
  return pieces;
}

std::vector<std::string_view> split_digits(std::string_view text, bool individual_digits) {
  const CodePoints cps(text);
  std::vector<std::string_view> pieces;
  size_t start = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    const bool numeric = unicode::is_numeric(cps.chars[i]);
    const bool next_numeric = i + 1 < cps.size() && unicode::is_numeric(cps.chars[i + 1]);
    // A piece ends where numeric and non-numeric meet, and after every
    // digit when digits are individual.
    const bool ends =
        i + 1 == cps.size() || numeric != next_numeric || (numeric && individual_digits);
    if (ends) {
      pieces.push_back(text.substr(cps.offset[start], cps.offset[i + 1] - cps.offset[start]));
      start = i + 1;
    }
  }
  return pieces;
}

std::string byte_level_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) unicode::append_utf8(out, kByteAlphabet[uint8_t(b)]);
  return out;
}

int byte_level_byte(char32_t c) { return c < kByteOf.size() ? kByteOf[c] : -1; }

std::vector<std::string_view> split_after(std::string_view text, std::string_view delimiter) {
  std::vector<std::string_view> out;
  size_t begin = 0;
  if (!delimiter.empty()) {
    for (size_t at = text.find(delimiter); at != std::string_view::npos; at = text.find(delimiter, begin)) {
      out.push_back(text.substr(begin, at + delimiter.size() - begin));
      begin = at + delimiter.size();
    }
  }
  if (begin < text.size()) out.push_back(text.substr(begin));
  return out;
}

std::vector<std::string_view> split_white_space(std::string_view text) {
  std::vector<std::string_view> out;
  size_t word = std::string_view::npos;
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = pos;
    const bool space = unicode::is_white_space(unicode::next_code_point(text, pos));
    if (space && word != std::string_view::npos) out.push_back(text.substr(word, start - word));
    if (space) word = std::string_view::npos;
    else if (word == std::string_view::npos) word = start;
  }
  if (word != std::string_view::npos) out.push_back(text.substr(word));
  return out;
}

}  // namespace wquant
