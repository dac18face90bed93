// UTF-8 coding and the Unicode character properties, on hand-picked code
// points (the oracle test checks every code point against `tokenizers`).
#include "wquant/tokenizer/unicode.h"

#include <gtest/gtest.h>

namespace wquant::unicode {
namespace {

std::u32string lower(char32_t c) {
  std::u32string out;
  append_lowercase(c, out);
  return out;
}

std::u32string nfd(char32_t c) {
  std::u32string out;
  append_canonical_decomposition(c, out);
  return out;
}

TEST(Utf8, RoundTripsEveryLength) {
  const std::u32string chars = {U'a', 0xE9, 0x6771, 0x1F600, 0x10FFFF};
  const std::string text = to_utf8(chars);
  EXPECT_EQ(text, "a\xC3\xA9\xE6\x9D\xB1\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF");
  EXPECT_EQ(find_invalid_utf8(text), std::string_view::npos);
  EXPECT_EQ(to_code_points(text), chars);
}

TEST(Utf8, FindsIllFormedSequences) {
  EXPECT_EQ(find_invalid_utf8("ab\x80"), 2u);            // lone continuation byte
  EXPECT_EQ(find_invalid_utf8("\xC0\xAF"), 0u);          // overlong '/'
  EXPECT_EQ(find_invalid_utf8("x\xE0\x80\xAF"), 1u);     // overlong 3-byte form
  EXPECT_EQ(find_invalid_utf8("\xED\xA0\x80"), 0u);      // surrogate U+D800
  EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80"), 0u);  // U+110000
  EXPECT_EQ(find_invalid_utf8("ok\xE6\x9D"), 2u);        // truncated at the end
  EXPECT_EQ(find_invalid_utf8("\xFF"), 0u);
}

TEST(Utf8, LossyReplacesMaximalSubparts) {
  // The example of Unicode 3.9, Table 3-8: one U+FFFD per maximal subpart.
  EXPECT_EQ(utf8_lossy("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
            "a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd");
  EXPECT_EQ(utf8_lossy("\xE6\x9D"), "\uFFFD");                  // cut 3-byte sequence: one
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");  // surrogate: byte by byte
  EXPECT_EQ(utf8_lossy("\xF0\x9F\x98\x80"), "\U0001F600");
}

TEST(Classes, GeneralCategories) {
  EXPECT_TRUE(is_letter(U'é') && is_letter(0x6771) && is_letter(0x0627) && is_letter(0xAA));
  EXPECT_FALSE(is_letter(U'1') || is_letter(0x0301) || is_letter(U'_') || is_letter(0x1F600));
  EXPECT_TRUE(is_number(U'7') && is_number(0x0663) && is_number(0xB2) && is_number(0x2167));
  EXPECT_FALSE(is_number(U'x') || is_number(0x11DE0));
  // A Unicode 17 digit: Rust's std knows it, the regex engine does not.
  EXPECT_TRUE(is_numeric(0x11DE0));
  EXPECT_TRUE(is_white_space(0x3000) && is_white_space(0x85) && is_white_space(U'\v'));
  EXPECT_FALSE(is_white_space(0x200B) || is_white_space(0x1C));
}

TEST(Classes, BertSets) {
  for (uint32_t c : std::initializer_list<uint32_t>{'$', '+', '`', '~', ',', 0x2014, 0x3002, 0xBF})
    EXPECT_TRUE(is_bert_punctuation(c)) << c;
  for (uint32_t c : std::initializer_list<uint32_t>{'a', '5', 0xA9, 0x1F600})
    EXPECT_FALSE(is_bert_punctuation(c)) << c;
  EXPECT_TRUE(is_nonspacing_mark(0x301) && is_nonspacing_mark(0x5B4) && is_nonspacing_mark(0x653));
  EXPECT_FALSE(is_nonspacing_mark(U'e') || is_nonspacing_mark(0x903));  // 0x903 is Mc
  for (uint32_t c :
       std::initializer_list<uint32_t>{0x0, 0x1, 0x7F, 0x200B, 0xAD, 0xFEFF, 0xFFFD, 0xE000})
    EXPECT_TRUE(is_bert_removed(c)) << c;
  for (uint32_t c : std::initializer_list<uint32_t>{'\t', '\n', '\r', 'a', 0x378})
    EXPECT_FALSE(is_bert_removed(c)) << c;
  EXPECT_TRUE(is_cjk_ideograph(0x6771) && is_cjk_ideograph(0x20000) && is_cjk_ideograph(0xF900));
  EXPECT_FALSE(is_cjk_ideograph(0x3042) || is_cjk_ideograph(0xAC00));  // hiragana, hangul
}

TEST(Lowercase, RunsAndSpecialCases) {
  EXPECT_EQ(lower(U'A'), U"a");
  EXPECT_EQ(lower(U'a'), U"a");
  EXPECT_EQ(lower(0xC9), U"\u00E9");         // É
  EXPECT_EQ(lower(0x100), U"\u0101");        // Ā: a stride-2 run
  EXPECT_EQ(lower(0x101), U"\u0101");        // ā stays
  EXPECT_EQ(lower(0x3A3), U"\u03C3");        // Σ -> σ, never final ς (no context)
  EXPECT_EQ(lower(0x130), U"i\u0307");       // İ
  EXPECT_EQ(lower(0x1C5), U"\u01C6");        // ǅ titlecase
  EXPECT_EQ(lower(0xFF21), U"\uFF41");       // fullwidth Ａ
  EXPECT_EQ(lower(0x10400), U"\U00010428");  // Deseret
}

TEST(Decomposition, CanonicalForms) {
  EXPECT_EQ(nfd(U'a'), U"a");
  EXPECT_EQ(nfd(0xE9), U"e\u0301");
  EXPECT_EQ(nfd(0x1F82), U"\u03B1\u0313\u0300\u0345");  // ᾂ: three steps deep
  EXPECT_EQ(nfd(0x212B), U"A\u030A");                   // Å angstrom sign: singleton, then pair
  EXPECT_EQ(nfd(0xD55C), U"\u1112\u1161\u11AB");        // 한: Hangul LVT
  EXPECT_EQ(nfd(0xAC00), U"\u1100\u1161");              // 가: Hangul LV
  EXPECT_EQ(nfd(0xF900), U"\u8C48");                    // CJK compatibility ideograph
  EXPECT_EQ(nfd(0xFA0E), U"\uFA0E");                    // a unified ideograph in that block
  EXPECT_EQ(nfd(0x2F800), U"\u4E3D");
  EXPECT_EQ(nfd(0x0623), U"\u0627\u0654");  // Arabic alef with hamza above
}

}  // namespace
}  // namespace wquant::unicode
