// load_tokenizer_json on broken or unsupported files: each must be an Error
// whose message names the file and the problem.
#include <gtest/gtest.h>

#include "temp_files.h"
#include "wquant/core/error.h"
#include "wquant/tokenizer/tokenizer.h"

namespace wquant {
namespace {

class BadTokenizerJson : public testing::TempDirTest {
 protected:
  // Expects load_tokenizer_json(path) to throw an Error naming path and holding `message`.
  void expect_error(const std::string& path, const std::string& message) {
    try {
      load_tokenizer_json(path);
      FAIL() << "no error for " << path << "; wanted: " << message;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(path + ": ", 0), 0u) << what;
      EXPECT_NE(what.find(message), std::string::npos) << what;
    }
  }
  void expect_error_for(const std::string& content, const std::string& message) {
    expect_error(write("tokenizer.json", content), message);
  }
};

constexpr const char* kWordPieceModel =
    R"("model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1}})";

std::string with_model(const std::string& rest) {
  return std::string("{") + kWordPieceModel + rest + "}";
}

TEST_F(BadTokenizerJson, UnreadableOrNotJson) {
  expect_error((dir_ / "missing.json").string(), "cannot open");
  expect_error(dir_.string(), "is a directory");
  expect_error_for("{\"model\": ", "not valid JSON");
  expect_error_for("", "not valid JSON");
  expect_error_for("[1, 2]", "top level is not an object");
}

TEST_F(BadTokenizerJson, Models) {
  expect_error_for("{}", "no \"model\" object");
  expect_error_for(R"({"model": {"type": "Unigram", "vocab": [["a", 0.0]], "unk_id": 1}})",
                   "Unigram unk_id 1 is outside its 1 pieces");
  expect_error_for(R"({"model": {"type": "Unigram", "vocab": [["a", 0.0], ["a", -1.0]]}})",
                   "Unigram piece \"a\" appears twice");
  expect_error_for(R"({"model": {"type": "Unigram", "vocab": [["a"]]}})",
                   "Unigram vocab entry 0 is not a [piece, score] pair");
  expect_error_for(R"({"model": {"type": "Unigram", "vocab": [["a", 0.0]], "unk_id": -3}})",
                   "Unigram unk_id is -3");
  expect_error_for(R"({"model": {"type": "WordLevel", "vocab": {"a": 0}}})",
                   "model type \"WordLevel\" is not supported");
  expect_error_for(R"({"model": {"type": "WordPiece"}})", "model has no \"vocab\" object");
  expect_error_for(R"({"model": {"type": "WordPiece", "vocab": {"a": "zero"}}})",
                   "the id of vocab token \"a\" is \"zero\", expected an integer in [0, 2147483647]");
  // Ids are range-checked before narrowing (found by fuzzing: 3.3e125 was a
  // double-to-int conversion, undefined behaviour; 4294967333 became 37).
  expect_error_for(R"({"model": {"type": "WordPiece", "vocab": {"a": 3.3e125}}})",
                   "the id of vocab token \"a\" is 3.3e+125, expected an integer in [0, 2147483647]");
  expect_error_for(R"({"model": {"type": "WordPiece", "vocab": {"a": 4294967333}}})",
                   "the id of vocab token \"a\" is 4294967333, expected an integer");
  expect_error_for(R"({"model": {"type": "WordPiece", "vocab": {"a": 1.5}}})", "is 1.5, expected an integer");
  // And so is every other integer (fuzzing again: max_input_chars_per_word
  // 6.7e114 converted double to size_t, undefined behaviour).
  expect_error_for(R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0},
                                 "max_input_chars_per_word": 6.7e114}})",
                   "WordPiece model 'max_input_chars_per_word' is 6.7e+114, expected an integer");
  expect_error_for(R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})",
                   "unk_token \"[UNK]\" is not in the vocabulary");
  expect_error_for(R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": -3}}})",
                   "the id of vocab token \"[UNK]\" is -3, expected an integer in [0, 2147483647]");
  expect_error_for(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b c"]}})",
                   "merge 0 (\"a b c\") is not two tokens");
  expect_error_for(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})",
                   "merge 0 uses \"b\", which is not in the vocabulary");
  expect_error_for(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "dropout": 0.1}})",
                   "BPE dropout is not supported");
}

TEST_F(BadTokenizerJson, UnsupportedComponents) {
  expect_error_for(with_model(R"(, "normalizer": {"type": "NFC"})"),
                   "normalizer \"NFC\" is not supported");
  expect_error_for(with_model(R"(, "normalizer": {"lowercase": true})"),
                   "normalizer has no \"type\"");
  expect_error_for(with_model(R"(, "pre_tokenizer": {"type": "Whitespace"})"),
                   "pre_tokenizer \"Whitespace\" is not supported");
  expect_error_for(with_model(R"(, "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Isolated"})"),
                   "Split pre-tokenizer on a string is only supported with MergedWithPrevious");
  expect_error_for(
      with_model(
          R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated"})"),
      "Split pre-tokenizer");
  expect_error_for(with_model(R"(, "decoder": {"type": "CTC"})"),
                   "decoder \"CTC\" is not supported");
  expect_error_for(with_model(R"(, "decoder": {"type": "Strip", "content": "", "start": 1, "stop": 0})"),
                   "Strip decoder content \"\" is not one character");
  expect_error_for(with_model(R"(, "decoder": {"type": "Strip", "content": " ", "start": -1, "stop": 0})"),
                   "Strip decoder start is -1");
  expect_error_for(with_model(R"(, "normalizer": {"type": "Replace", "pattern": {"Regex": " +"}, "content": "x"})"),
                   "Replace normalizer pattern");
  expect_error_for(with_model(R"(, "pre_tokenizer": {"type": "Metaspace", "prepend_scheme": "sometimes"})"),
                   "Metaspace pre-tokenizer prepend_scheme \"sometimes\"");
  expect_error_for(with_model(R"(, "post_processor": {"type": "Unknown"})"),
                   "post_processor \"Unknown\" is not supported");
  expect_error_for(with_model(R"(, "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "[X]", "type_id": 0}}], "special_tokens": {}})"),
                   "template uses \"[X]\"");
  expect_error_for(with_model(R"(, "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "[X]", "type_id": 0}}],
      "special_tokens": {"[X]": {"ids": [1e300]}}})"),
                   "post_processor special token \"[X]\" id is 1e+300, expected an integer");
  expect_error_for(with_model(R"(, "post_processor": {"type": "BertProcessing",
      "cls": ["[CLS]", 4294967296], "sep": ["[SEP]", 1]})"),
                   "post_processor cls id is 4294967296, expected an integer");
  expect_error_for(with_model(R"(, "added_tokens": [{"content": "x", "id": -1}])"),
                   "the id of added token \"x\" is -1, expected an integer");
}

// Found by fuzz_tokenizer_json: Metaspace replacements holding spaces,
// chained, multiplied the text at every step (32 s on one sentence).
// tokenizers' replacement is one `char`; and whatever the steps, a text that
// grows past 64x + 4096 bytes is refused rather than tokenized.
TEST_F(BadTokenizerJson, StepsThatMultiplyTheTextAreRefused) {
  expect_error_for(with_model(R"(, "pre_tokenizer": {"type": "Metaspace", "replacement": "- -"})"),
                   "Metaspace pre-tokenizer replacement \"- -\" is not one character");
  expect_error_for(with_model(R"(, "decoder": {"type": "Metaspace", "replacement": ""})"),
                   "Metaspace decoder replacement \"\" is not one character");
  std::string steps;
  for (int i = 0; i < 4; ++i)
    steps += std::string(i ? "," : "") + R"({"type": "Replace", "pattern": {"String": " "}, "content": "          "})";
  const auto tok = load_tokenizer_json(
      write("tokenizer.json", with_model(R"(, "normalizer": {"type": "Sequence", "normalizers": [)" + steps + "]}")));
  EXPECT_EQ(tok->encode("a").size(), 1u);  // no space, no growth
  try {
    tok->encode("a a a a a a a a a a a a a a a a");  // 15 spaces -> 150 000 after 4 steps
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the normalizer grows a text of 31 bytes past 6080 bytes"), std::string::npos)
        << e.what();
  }
}

TEST_F(BadTokenizerJson, MinimalFileLoads) {
  // Everything but the model is optional.
  const auto tok = load_tokenizer_json(write("tokenizer.json", with_model("")));
  EXPECT_EQ(tok->encode("a a b"),
            (std::vector<int32_t>{0}));  // no pre-tokenizer: one piece "a a b" -> [UNK]
}

}  // namespace
}  // namespace wquant
