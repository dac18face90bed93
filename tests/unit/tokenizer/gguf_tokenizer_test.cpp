// load_gguf_tokenizer on a tiny hand-made GGUF vocabulary.
#include <gtest/gtest.h>

#include "temp_files.h"
#include "wquant/core/error.h"
#include "wquant/io/gguf.h"
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
  testing::GgufMetadataWriter llama;
  llama.str("tokenizer.ggml.model", "llama");
  expect_error(llama, "tokenizer.ggml.model \"llama\" is not supported");
  testing::GgufMetadataWriter llama3;
  llama3.str("tokenizer.ggml.model", "gpt2").str("tokenizer.ggml.pre", "llama-bpe");
  expect_error(llama3, "tokenizer.ggml.pre \"llama-bpe\"");
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
  expect_error(bad_bos, "special token id 99 is not a token");
  testing::GgufMetadataWriter wrong_type;
  wrong_type.str("tokenizer.ggml.model", "gpt2").str("tokenizer.ggml.tokens", "a");
  expect_error(wrong_type, "tokenizer.ggml.tokens has an unexpected type");
}

}  // namespace
}  // namespace wquant
