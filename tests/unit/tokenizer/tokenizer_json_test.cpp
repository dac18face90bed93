// load_tokenizer_json end to end on tiny hand-made tokenizer.json files: a
// BERT-style WordPiece pipeline and a byte-level BPE one.
#include <gtest/gtest.h>

#include "temp_files.h"
#include "wquant/core/error.h"
#include "wquant/tokenizer/tokenizer.h"

namespace wquant {
namespace {

using nlohmann::json;
using Ids = std::vector<int32_t>;

json added(const std::string& content, int id, bool special = true) {
  return {{"id", id},        {"content", content}, {"special", special},  {"normalized", false},
          {"lstrip", false}, {"rstrip", false},    {"single_word", false}};
}

// ids: [PAD]0 [UNK]1 [CLS]2 [SEP]3 hello4 world5 ,6 !7 un8 ##aff9 ##able10 cafe11 東12 京13
json bert_json() {
  json vocab = {{"[PAD]", 0},   {"[UNK]", 1}, {"[CLS]", 2}, {"[SEP]", 3}, {"hello", 4},
                {"world", 5},   {",", 6},     {"!", 7},     {"un", 8},    {"##aff", 9},
                {"##able", 10}, {"cafe", 11}, {"東", 12},   {"京", 13}};
  return {
      {"added_tokens",
       {added("[PAD]", 0), added("[UNK]", 1), added("[CLS]", 2), added("[SEP]", 3)}},
      {"normalizer",
       {{"type", "BertNormalizer"},
        {"clean_text", true},
        {"handle_chinese_chars", true},
        {"strip_accents", nullptr},
        {"lowercase", true}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
          {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}}}},
        {"special_tokens",
         {{"[CLS]", {{"id", "[CLS]"}, {"ids", {2}}, {"tokens", {"[CLS]"}}}},
          {"[SEP]", {{"id", "[SEP]"}, {"ids", {3}}, {"tokens", {"[SEP]"}}}}}}}},
      {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
      {"model",
       {{"type", "WordPiece"},
        {"unk_token", "[UNK]"},
        {"continuing_subword_prefix", "##"},
        {"max_input_chars_per_word", 100},
        {"vocab", vocab}}},
  };
}

class TokenizerJson : public testing::TempDirTest {};

TEST_F(TokenizerJson, BertPipeline) {
  const auto tok = load_tokenizer_json(write_json(bert_json()));
  // Lowercased, accents stripped (café -> cafe), CJK split, punctuation
  // isolated, "unaffable" in pieces; "[SEP]" in the text is the added token
  // (matched before normalization), "x" is unknown.
  const std::string text = "Hello, WORLD! Unaffable\tCAFÉ東京 [SEP] x";
  const Ids body = {4, 6, 5, 7, 8, 9, 10, 11, 12, 13, 3, 1};
  Ids with_specials = {2};
  with_specials.insert(with_specials.end(), body.begin(), body.end());
  with_specials.push_back(3);
  EXPECT_EQ(tok->encode(text), with_specials);
  EXPECT_EQ(tok->encode(text, false), body);
  EXPECT_EQ(tok->encode(""), (Ids{2, 3}));
  EXPECT_EQ(tok->encode("[sep]", false), (Ids{1, 1, 1}));  // normalized=false: only "[SEP]" matches
  // The WordPiece decoder glues ## pieces and drops the space before , and !
  EXPECT_EQ(tok->decode(with_specials),
            "[CLS] hello, world! unaffable cafe 東 京 [SEP] [UNK] [SEP]");
  EXPECT_EQ(tok->decode(with_specials, true), "hello, world! unaffable cafe 東 京");
  EXPECT_EQ(tok->decode(Ids{4, 99, -1, 5}), "hello world");  // unknown ids are skipped
  EXPECT_EQ(tok->vocab_size(), 14u);
  EXPECT_EQ(tok->token_to_id("##aff"), 9);
  EXPECT_EQ(tok->token_to_id("nope"), std::nullopt);
  EXPECT_EQ(tok->id_to_token(12), "東");
  EXPECT_TRUE(tok->is_special(3));
  EXPECT_FALSE(tok->is_special(4));
  EXPECT_EQ(tok->bos_id(), std::nullopt);
  EXPECT_EQ(tok->normalize("ÀB\u00A0c"), "ab c");
  EXPECT_EQ(tok->pre_tokenize("a,b c"), (std::vector<std::string>{"a", ",", "b", "c"}));
}

TEST_F(TokenizerJson, BosEosFromTokenizerConfig) {
  write("tokenizer_config.json", R"({"bos_token": "[CLS]", "eos_token": {"content": "[SEP]"}})");
  const auto tok = load_tokenizer_json(write_json(bert_json()));
  EXPECT_EQ(tok->bos_id(), 2);
  EXPECT_EQ(tok->eos_id(), 3);
}

TEST_F(TokenizerJson, RejectsInvalidUtf8Text) {
  const auto tok = load_tokenizer_json(write_json(bert_json()));
  EXPECT_THROW(tok->encode("ab\xC3"), Error);
}

// ids: h0 i1 Ġ2 !3 hi4 Ġh5 Ġhi6 <|end|>7; merges "Ġ h" (0), "h i" (1), "Ġh i" (2).
json byte_level_json(bool add_prefix_space) {
  return {
      {"added_tokens", {added("<|end|>", 7)}},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "ByteLevel"}, {"add_prefix_space", add_prefix_space}, {"use_regex", true}}},
      {"post_processor", {{"type", "ByteLevel"}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"},
        {"unk_token", nullptr},
        {"vocab", {{"h", 0}, {"i", 1}, {"Ġ", 2}, {"!", 3}, {"hi", 4}, {"Ġh", 5}, {"Ġhi", 6}}},
        {"merges", {"Ġ h", json::array({"h", "i"}), "Ġh i"}}}},  // both spellings of a merge
  };
}

TEST_F(TokenizerJson, ByteLevelBpePipeline) {
  const auto tok = load_tokenizer_json(write_json(byte_level_json(false)));
  // Pieces "hi", " hi", "!" -> "hi", "Ġhi", "!". In " hi", Ġ+h (rank 0) goes
  // before h+i (1), then Ġh+i (2): Ġhi.
  EXPECT_EQ(tok->encode("hi hi!<|end|>"), (Ids{4, 6, 3, 7}));
  EXPECT_EQ(tok->decode(Ids{4, 6, 3, 7}), "hi hi!<|end|>");
  EXPECT_EQ(tok->decode(Ids{4, 6, 3, 7}, true), "hi hi!");
  EXPECT_EQ(tok->encode("hé"), Ids{0});  // é's two bytes are not in the vocabulary: dropped
  EXPECT_EQ(tok->pre_tokenize("a  b"), (std::vector<std::string>{"a", "Ġ", "Ġb"}));
  const auto prefixed = load_tokenizer_json(write_json(byte_level_json(true)));
  EXPECT_EQ(prefixed->encode("hi"), Ids{6});  // " hi"
}

}  // namespace
}  // namespace wquant
