// BpeModel and WordPieceModel on tiny hand-made vocabularies; every expected
// tokenization is worked out by hand in the comments.
#include "wquant/tokenizer/models.h"

#include <gtest/gtest.h>

#include "wquant/core/error.h"

namespace wquant {
namespace {

using Ids = std::vector<int32_t>;

// ids: a=0 b=1 c=2 d=3 bc=4 ab=5 abc=6 cd=7 abcd=8 <unk>=9
TokenMap bpe_vocab() {
  return {{"a", 0},  {"b", 1},   {"c", 2},  {"d", 3},    {"bc", 4},
          {"ab", 5}, {"abc", 6}, {"cd", 7}, {"abcd", 8}, {"<unk>", 9}};
}
// Five merges; the rank is the position.
const std::vector<std::pair<std::string, std::string>> kMerges = {
    {"b", "c"},    // 0 -> bc
    {"a", "b"},    // 1 -> ab
    {"a", "bc"},   // 2 -> abc
    {"c", "d"},    // 3 -> cd
    {"abc", "d"},  // 4 -> abcd
};

Ids bpe(const BpeModel& model, std::string_view piece) {
  Ids out;
  model.tokenize(piece, out);
  return out;
}

TEST(Bpe, FiveMergesByRank) {
  const BpeModel model(bpe_vocab(), kMerges, {}, "test");
  // a b c d: b+c (rank 0) -> a bc d; a+bc (2) -> abc d; c+d is gone; abc+d (4).
  EXPECT_EQ(bpe(model, "abcd"), (Ids{8}));
  // b c d: b+c (0) beats c+d (3), and bc+d is no merge: bc d.
  EXPECT_EQ(bpe(model, "bcd"), (Ids{4, 3}));
  // a b a b: both a+b (1), leftmost first, then the second: ab ab.
  EXPECT_EQ(bpe(model, "abab"), (Ids{5, 5}));
  // a a b c d: b+c -> a a bc d; the queued a+b is stale (b is now bc);
  // a+bc -> a abc d; abc+d -> a abcd.
  EXPECT_EQ(bpe(model, "aabcd"), (Ids{0, 8}));
  // c d c: c+d (3) at 0, then d c has no merge: cd c.
  EXPECT_EQ(bpe(model, "cdc"), (Ids{7, 2}));
  EXPECT_EQ(bpe(model, ""), Ids{});
}

TEST(Bpe, UnknownCharacters) {
  // Without unk_token, unknown characters are dropped, so a and b meet: ab.
  EXPECT_EQ(bpe(BpeModel(bpe_vocab(), kMerges, {}, "test"), "axéb"), (Ids{5}));
  BpeOptions with_unk;
  with_unk.unk_token = "<unk>";
  EXPECT_EQ(bpe(BpeModel(bpe_vocab(), kMerges, with_unk, "test"), "axéb"), (Ids{0, 9, 9, 1}));
  with_unk.fuse_unk = true;
  EXPECT_EQ(bpe(BpeModel(bpe_vocab(), kMerges, with_unk, "test"), "axébx"), (Ids{0, 9, 1, 9}));
}

TEST(Bpe, IgnoreMergesTakesWholePieces) {
  BpeOptions options;
  options.ignore_merges = true;
  const BpeModel model(bpe_vocab(), kMerges, options, "test");
  EXPECT_EQ(bpe(model, "cd"), (Ids{7}));
  EXPECT_EQ(bpe(model, "bcd"), (Ids{4, 3}));  // not in the vocabulary: merged as usual
}

TEST(Bpe, LaterDuplicateMergeWins) {
  // "b c" listed again at the end takes rank 5 instead of 0.
  auto merges = kMerges;
  merges.push_back({"b", "c"});
  const BpeModel model(bpe_vocab(), merges, {}, "test");
  // a b c d: a+b (1) -> ab c d; c+d (3) -> ab cd; ab+cd is no merge.
  EXPECT_EQ(bpe(model, "abcd"), (Ids{5, 7}));
}

TEST(Bpe, BadMergesNameTheSource) {
  try {
    BpeModel(bpe_vocab(), {{"a", "z"}}, {}, "vocab.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "vocab.json: merge 0 uses \"z\", which is not in the vocabulary");
  }
  try {
    BpeModel(bpe_vocab(), {{"c", "a"}}, {}, "vocab.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "vocab.json: merge 0 makes \"ca\", which is not in the vocabulary");
  }
  BpeOptions options;
  options.unk_token = "<missing>";
  EXPECT_THROW(BpeModel(bpe_vocab(), kMerges, options, "x"), Error);
}

// ids: [UNK]=0 un=1 ##aff=2 ##able=3 aff=4 able=5 ##a=6 u=7 ##n=8 é=9
TokenMap wordpiece_vocab() {
  return {{"[UNK]", 0}, {"un", 1},  {"##aff", 2}, {"##able", 3}, {"aff", 4},
          {"able", 5},  {"##a", 6}, {"u", 7},     {"##n", 8},    {"é", 9}};
}

Ids wordpiece(const WordPieceModel& model, std::string_view word) {
  Ids out;
  model.tokenize(word, out);
  return out;
}

TEST(WordPiece, GreedyLongestMatchFirst) {
  const WordPieceModel model(wordpiece_vocab(), "[UNK]", "##", 10, "test");
  EXPECT_EQ(wordpiece(model, "unaffable"), (Ids{1, 2, 3}));  // un ##aff ##able
  EXPECT_EQ(wordpiece(model, "affable"), (Ids{4, 3}));       // aff ##able
  EXPECT_EQ(wordpiece(model, "una"), (Ids{1, 6}));           // un ##a
  EXPECT_EQ(wordpiece(model, "é"), (Ids{9}));                // whole code points, not bytes
  // "unx": un, then no "##x..." prefix: the whole word is one [UNK].
  EXPECT_EQ(wordpiece(model, "unx"), (Ids{0}));
  // Ten code points are allowed, eleven are [UNK] without looking.
  EXPECT_EQ(wordpiece(model, "unaaaaaaaa"), (Ids{1, 6, 6, 6, 6, 6, 6, 6, 6}));
  EXPECT_EQ(wordpiece(model, "unaaaaaaaaa"), (Ids{0}));
}

TEST(WordPiece, MissingUnkTokenIsAnError) {
  EXPECT_THROW(WordPieceModel(wordpiece_vocab(), "<unk>", "##", 100, "x"), Error);
}

}  // namespace
}  // namespace wquant
