// load_gguf_tokenizer on a tiny hand-made GGUF vocabulary.
#include <gtest/gtest.h>

#include "temp_files.h"
#include "wquant/core/error.h"
#include "wquant/io/gguf.h"
#include "wquant/tokenizer/gguf_vocab.h"
#include "wquant/tokenizer/tokenizer.h"

namespace wquant {
namespace {

using Ids = std::vector<int32_t>;

// ids: <|endoftext|>0 <|im_start|>1 (control) h2 i3 Ġ4 hi5 Ġhi6 <think>7
// (user-defined) α8 Î9 ±10. "α" is stored as raw UTF-8 and is not a byte-
// alphabet character, so it is respelled as its bytes CE B1: "Î±", which the
// merge "Î ±" makes.
testing::GgufMetadataWriter tiny_vocab() {
  testing::GgufMetadataWriter w;
  w.str("tokenizer.ggml.model", "gpt2")
      .str("tokenizer.ggml.pre", "smollm")
      .strings("tokenizer.ggml.tokens", {"<|endoftext|>", "<|im_start|>", "h", "i", "Ġ", "hi",
                                         "Ġhi", "<think>", "α", "Î", "±"})
      .i32s("tokenizer.ggml.token_type", {3, 3, 1, 1, 1, 1, 1, 4, 1, 1, 1})
      .strings("tokenizer.ggml.merges", {"h i", "Ġ hi", "Î ±"})
      .u32("tokenizer.ggml.bos_token_id", 1)
      .u32("tokenizer.ggml.eos_token_id", 0);
  return w;
}

class GgufTokenizer : public testing::TempDirTest {
 protected:
  std::unique_ptr<Tokenizer> load(const testing::GgufMetadataWriter& w) {
    const std::string path = (dir_ / "vocab.gguf").string();
    w.save(path);
    return load_gguf_tokenizer(GgufFile(path));
  }
};

TEST_F(GgufTokenizer, EncodesDecodesAsTransformersBuildsIt) {
  auto w = tiny_vocab();
  w.flag("tokenizer.ggml.add_bos_token", true);
  const auto tok = load(w);
  // bos; "hi " -> "hi", "Ġ"; <|im_start|>; "hi"; <think>; α -> "Î±".
  const Ids ids = {1, 5, 4, 1, 5, 7, 8};
  EXPECT_EQ(tok->encode("hi <|im_start|>hi<think>α"), ids);
  EXPECT_EQ(tok->encode("hi <|im_start|>hi<think>α", false), Ids(ids.begin() + 1, ids.end()));
  EXPECT_EQ(tok->decode(ids), "<|im_start|>hi <|im_start|>hi<think>α");
  EXPECT_EQ(tok->decode(ids, true), "hi hi<think>α");  // control tokens are special, <think> not
  EXPECT_EQ(tok->decode(Ids{9}), "\uFFFD");            // the lone byte CE
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 0);
  EXPECT_EQ(tok->vocab_size(), 11u);
  EXPECT_EQ(tok->token_to_id("Î±"), 8);
  EXPECT_EQ(tok->id_to_token(6), "Ġhi");
}

TEST_F(GgufTokenizer, NoBosUnlessAsked) { EXPECT_EQ(load(tiny_vocab())->encode("hi"), Ids{5}); }

// unk and padding tokens are special added tokens, as transformers registers
// them: an ordinary token ("i") named as unk is matched whole and skipped by
// decode(skip_special_tokens).
TEST_F(GgufTokenizer, UnkAndPadAreSpecial) {
  auto w = tiny_vocab();
  w.u32("tokenizer.ggml.unknown_token_id", 3).u32("tokenizer.ggml.padding_token_id", 10);
  const auto tok = load(w);
  EXPECT_EQ(tok->encode("hi"), (Ids{2, 3}));  // "i" no longer merges with "h"
  EXPECT_TRUE(tok->is_special(3));
  EXPECT_TRUE(tok->is_special(10));
  EXPECT_EQ(tok->decode(Ids{2, 3, 10}, true), "h");
}

// The files written next to a model converted from GGUF: what transformers'
// tokenizer.json holds for the same file (the Python oracle test compares
// the whole JSON), checked here for the parts that carry the options.
TEST_F(GgufTokenizer, HuggingFaceFiles) {
  auto w = tiny_vocab();
  w.flag("tokenizer.ggml.add_bos_token", true)
      .flag("tokenizer.ggml.add_eos_token", false)
      .str("tokenizer.chat_template", "{{ bos_token }}");
  const std::string path = (dir_ / "vocab.gguf").string();
  w.save(path);
  const HfTokenizerFiles files = gguf_tokenizer_files(GgufFile(path));
  const nlohmann::json& t = files.tokenizer;
  EXPECT_EQ(t["model"]["type"], "BPE");
  EXPECT_EQ(t["model"]["vocab"]["Î±"], 8);  // raw UTF-8 "α" respelled
  EXPECT_EQ(t["model"]["vocab"].size(), 11u);
  EXPECT_EQ(t["model"]["merges"][2], nlohmann::json::array({"Î", "±"}));
  // Control tokens 0 and 1 (bos is 1) special, user-defined <think> not; by id.
  ASSERT_EQ(t["added_tokens"].size(), 3u);
  EXPECT_EQ(t["added_tokens"][0]["content"], "<|endoftext|>");
  EXPECT_EQ(t["added_tokens"][1]["special"], true);
  EXPECT_EQ(t["added_tokens"][2]["content"], "<think>");
  EXPECT_EQ(t["added_tokens"][2]["special"], false);
  EXPECT_EQ(t["added_tokens"][2]["normalized"], false);
  // add_bos_token: [bos] $A, and [bos] $A [bos] $B for pairs.
  const nlohmann::json& post = t["post_processor"];
  EXPECT_EQ(post["type"], "TemplateProcessing");
  ASSERT_EQ(post["single"].size(), 2u);
  EXPECT_EQ(post["single"][0]["SpecialToken"]["id"], "<|im_start|>");
  EXPECT_EQ(post["pair"].size(), 4u);
  EXPECT_EQ(post["special_tokens"]["<|im_start|>"]["ids"], nlohmann::json::array({1}));
  EXPECT_EQ(t["pre_tokenizer"]["type"], "ByteLevel");
  EXPECT_EQ(t["pre_tokenizer"]["add_prefix_space"], false);
  EXPECT_EQ(t["decoder"]["type"], "ByteLevel");
  const nlohmann::json& c = files.tokenizer_config;
  EXPECT_EQ(c["bos_token"], "<|im_start|>");
  EXPECT_EQ(c["eos_token"], "<|endoftext|>");
  EXPECT_FALSE(c.contains("unk_token"));
  EXPECT_EQ(c["add_bos_token"], true);
  EXPECT_EQ(c["add_eos_token"], false);
  EXPECT_EQ(c["chat_template"], "{{ bos_token }}");
}

TEST_F(GgufTokenizer, Errors) {
  auto expect_error = [&](const testing::GgufMetadataWriter& w, const std::string& message) {
    try {
      load(w);
      FAIL() << "no error; wanted: " << message;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find((dir_ / "vocab.gguf").string()), std::string::npos) << what;
      EXPECT_NE(what.find(message), std::string::npos) << what;
    }
  };
  testing::GgufMetadataWriter none;
  none.str("general.architecture", "llama");
  expect_error(none, "no tokenizer.ggml.model");
  testing::GgufMetadataWriter bert;
  bert.str("tokenizer.ggml.model", "bert");
  expect_error(bert, "tokenizer.ggml.model \"bert\" is not supported");
  testing::GgufMetadataWriter llama3;
  llama3.str("tokenizer.ggml.model", "gpt2").str("tokenizer.ggml.pre", "llama-bpe").strings("tokenizer.ggml.tokens", {"a"});
  expect_error(llama3, "tokenizer.ggml.pre \"llama-bpe\"");
  testing::GgufMetadataWriter spm_no_scores;
  spm_no_scores.str("tokenizer.ggml.model", "llama").strings("tokenizer.ggml.tokens", {"a"});
  expect_error(spm_no_scores, "neither tokenizer.ggml.merges nor tokenizer.ggml.scores");
  testing::GgufMetadataWriter spm_short_scores;
  spm_short_scores.str("tokenizer.ggml.model", "llama").strings("tokenizer.ggml.tokens", {"a", "b"});
  spm_short_scores.f32s("tokenizer.ggml.scores", {0.0f});
  expect_error(spm_short_scores, "tokenizer.ggml.scores has 1 entries for 2 tokens");
  testing::GgufMetadataWriter huge_bos;  // 2^32 + 0 must not become token 0
  huge_bos.str("tokenizer.ggml.model", "gpt2")
      .strings("tokenizer.ggml.tokens", {"a"})
      .strings("tokenizer.ggml.merges", {})
      .u64("tokenizer.ggml.bos_token_id", uint64_t(1) << 32);
  expect_error(huge_bos, "tokenizer.ggml.bos_token_id is not an integer in the range of token ids");
  testing::GgufMetadataWriter no_merges;
  no_merges.str("tokenizer.ggml.model", "gpt2").strings("tokenizer.ggml.tokens", {"a"});
  expect_error(no_merges, "tokenizer.ggml.merges is missing");
  testing::GgufMetadataWriter short_types;
  short_types.str("tokenizer.ggml.model", "gpt2")
      .strings("tokenizer.ggml.tokens", {"a", "b"})
      .i32s("tokenizer.ggml.token_type", {1});
  expect_error(short_types, "token_type has 1 entries for 2 tokens");
  testing::GgufMetadataWriter bad_merge;
  bad_merge.str("tokenizer.ggml.model", "gpt2")
      .strings("tokenizer.ggml.tokens", {"a"})
      .strings("tokenizer.ggml.merges", {"a z"});
  expect_error(bad_merge, "\"z\", which is not in the vocabulary");
  testing::GgufMetadataWriter bad_bos;
  bad_bos.str("tokenizer.ggml.model", "gpt2")
      .strings("tokenizer.ggml.tokens", {"a"})
      .strings("tokenizer.ggml.merges", {})
      .u32("tokenizer.ggml.bos_token_id", 99);
  expect_error(bad_bos, "tokenizer.ggml.bos_token_id 99 is not a token");
  testing::GgufMetadataWriter wrong_type;
  wrong_type.str("tokenizer.ggml.model", "gpt2").str("tokenizer.ggml.tokens", "a");
  expect_error(wrong_type, "tokenizer.ggml.tokens has an unexpected type");
}

}  // namespace
}  // namespace wquant
