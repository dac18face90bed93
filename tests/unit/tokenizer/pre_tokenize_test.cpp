// Pre-tokenizers on hand-made strings, the expected pieces worked out from
// the GPT-2 pattern and BertPreTokenizer's rules by hand.
#include "wquant/tokenizer/pre_tokenize.h"

#include <gtest/gtest.h>

namespace wquant {
namespace {

using Pieces = std::vector<std::string_view>;

TEST(Gpt2Split, WordsKeepTheirLeadingSpace) {
  EXPECT_EQ(split_gpt2("Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(split_gpt2("abc123 45!?x"), (Pieces{"abc", "123", " 45", "!?", "x"}));
  EXPECT_EQ(split_gpt2(""), Pieces{});
}

TEST(Gpt2Split, WhiteSpaceRunsLeaveTheLastSpaceToTheNextWord) {
  // `\s+(?!\S)` stops one short of a non-space, which then takes " world".
  EXPECT_EQ(split_gpt2("a   b"), (Pieces{"a", "  ", " b"}));
  EXPECT_EQ(split_gpt2("a\n\nb"), (Pieces{"a", "\n", "\n", "b"}));  // lone '\n' before b: `\s+`
  EXPECT_EQ(split_gpt2("x  "), (Pieces{"x", "  "}));                // at the end: the whole run
  EXPECT_EQ(split_gpt2(" \t x"), (Pieces{" \t", " x"}));
  EXPECT_EQ(split_gpt2("a\tb"), (Pieces{"a", "\t", "b"}));  // only U+0020 joins a word
}

TEST(Gpt2Split, ContractionsAreLowercaseOnly) {
  EXPECT_EQ(split_gpt2("it's we've"), (Pieces{"it", "'s", " we", "'ve"}));
  EXPECT_EQ(split_gpt2("IT'S"), (Pieces{"IT", "'", "S"}));
  EXPECT_EQ(split_gpt2("'quoted'"), (Pieces{"'", "quoted", "'"}));
  EXPECT_EQ(split_gpt2("!!'s"), (Pieces{"!!'", "s"}));  // inside a run of others: no contraction
}

TEST(Gpt2Split, UnicodeClasses) {
  // é is a letter, ٣ a number, U+3000 white space, the emoji "other".
  EXPECT_EQ(split_gpt2("café ٣٣\u3000😀😀"), (Pieces{"café", " ٣٣", "\u3000", "😀😀"}));
}

TEST(BertSplit, WhiteSpaceDroppedPunctuationIsolated) {
  EXPECT_EQ(split_bert("  Hello,world!! \t x$y "),
            (Pieces{"Hello", ",", "world", "!", "!", "x", "$", "y"}));
  EXPECT_EQ(split_bert("don't"), (Pieces{"don", "'", "t"}));
  EXPECT_EQ(split_bert("\u3000"), Pieces{});
}

TEST(DigitsSplit, IndividualOrRuns) {
  EXPECT_EQ(split_digits("ab123c4", true), (Pieces{"ab", "1", "2", "3", "c", "4"}));
  EXPECT_EQ(split_digits("ab123c4", false), (Pieces{"ab", "123", "c", "4"}));
  EXPECT_EQ(split_digits("²½", true), (Pieces{"²", "½"}));  // numeric, not just ASCII digits
}

TEST(ByteLevel, GptTwoAlphabet) {
  EXPECT_EQ(byte_level_encode("Hi !"), "Hi\xC4\xA0!");           // ' ' -> U+0120 'Ġ'
  EXPECT_EQ(byte_level_encode("\n"), "\xC4\x8A");                // '\n' -> U+010A 'Ċ'
  EXPECT_EQ(byte_level_encode("\xC3\xA9"), "\xC3\x83\xC2\xA9");  // é's bytes C3 A9 -> Ã ©
  EXPECT_EQ(byte_level_byte(0x120), ' ');
  EXPECT_EQ(byte_level_byte(U'A'), 'A');
  EXPECT_EQ(byte_level_byte(0xAD), -1);  // soft hyphen byte is moved to U+0143
  EXPECT_EQ(byte_level_byte(0x143), 0xAD);
  EXPECT_EQ(byte_level_byte(0x144), -1);  // past the 68 moved bytes
}

}  // namespace
}  // namespace wquant
