// GgufFile parsing and the GGUF checkpoint reader: tiny GGUF files built byte
// by byte, valid ones and each kind of corruption, which must give an Error
// naming the file and the problem.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "gguf_builder.h"
#include "wquant/core/error.h"
#include "wquant/io/checkpoint_formats.h"
#include "wquant/io/gguf.h"

namespace wquant {
namespace {

using namespace gguf_test;

// Expects opening the file built by `b` to fail with a message naming the
// file and containing `problem`.
void expect_rejected(const std::string& name, const std::vector<uint8_t>& bytes,
                     const std::string& problem) {
  const std::string path = write_temp(name, bytes);
  try {
    GgufFile file(path);
    ADD_FAILURE() << name << ": no error, expected '" << problem << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << "expected '" << problem << "' in: " << msg;
  }
}

// A small valid file: every scalar type, three array kinds, two tensors.
GgufBuilder valid_builder() {
  GgufBuilder b;
  b.kv_str("general.architecture", "llama").kv_u32("llama.block_count", 2).kv_f32("f", 0.5f);
  b.kv_raw(Bytes().str("u8").put<uint32_t>(U8).put<uint8_t>(200));
  b.kv_raw(Bytes().str("i8").put<uint32_t>(I8).put<int8_t>(-5));
  b.kv_raw(Bytes().str("u16").put<uint32_t>(U16).put<uint16_t>(60000));
  b.kv_raw(Bytes().str("i16").put<uint32_t>(I16).put<int16_t>(-300));
  b.kv_raw(Bytes().str("i32").put<uint32_t>(I32).put<int32_t>(-70000));
  b.kv_raw(Bytes().str("u64").put<uint32_t>(U64).put<uint64_t>(1ull << 40));
  b.kv_raw(Bytes().str("i64").put<uint32_t>(I64).put<int64_t>(-(1ll << 40)));
  b.kv_raw(Bytes().str("f64").put<uint32_t>(F64).put<double>(0.1));
  b.kv_raw(Bytes().str("yes").put<uint32_t>(BOOL).put<uint8_t>(1));
  b.kv_raw(Bytes().str("tokens").put<uint32_t>(ARR).put<uint32_t>(STR).put<uint64_t>(2)
               .str("a").str("bc"));
  b.kv_raw(Bytes().str("types").put<uint32_t>(ARR).put<uint32_t>(I32).put<uint64_t>(3)
               .put<int32_t>(1).put<int32_t>(-2).put<int32_t>(3));
  b.kv_raw(Bytes().str("scores").put<uint32_t>(ARR).put<uint32_t>(F32V).put<uint64_t>(1)
               .put<float>(-1.5f));
  b.f32_tensor("a.weight", {3, 2}, {1, 2, 3, 4, 5, 6});
  // Q8_0 [32]: d = 1.0 (f16 0x3c00), q[i] = i - 16.
  std::vector<uint8_t> q8 = {0x00, 0x3c};
  for (int i = 0; i < 32; ++i) q8.push_back(uint8_t(int8_t(i - 16)));
  b.tensor("b.weight", {32}, uint32_t(GgmlType::Q8_0), q8);
  return b;
}

TEST(GgufFile, ParsesMetadataAndTensors) {
  const std::string path = write_temp("valid", valid_builder().build());
  const GgufFile file(path);
  EXPECT_EQ(file.version(), 3u);
  const auto& m = file.metadata();
  EXPECT_EQ(std::get<std::string>(m.at("general.architecture")), "llama");
  EXPECT_EQ(std::get<uint64_t>(m.at("llama.block_count")), 2u);
  EXPECT_EQ(std::get<double>(m.at("f")), 0.5);
  EXPECT_EQ(std::get<uint64_t>(m.at("u8")), 200u);
  EXPECT_EQ(std::get<int64_t>(m.at("i8")), -5);
  EXPECT_EQ(std::get<uint64_t>(m.at("u16")), 60000u);
  EXPECT_EQ(std::get<int64_t>(m.at("i16")), -300);
  EXPECT_EQ(std::get<int64_t>(m.at("i32")), -70000);
  EXPECT_EQ(std::get<uint64_t>(m.at("u64")), 1ull << 40);
  EXPECT_EQ(std::get<int64_t>(m.at("i64")), -(1ll << 40));
  EXPECT_EQ(std::get<double>(m.at("f64")), 0.1);
  EXPECT_EQ(std::get<bool>(m.at("yes")), true);
  EXPECT_EQ(std::get<std::vector<std::string>>(m.at("tokens")),
            (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(std::get<std::vector<int64_t>>(m.at("types")), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(std::get<std::vector<double>>(m.at("scores")), (std::vector<double>{-1.5}));

  ASSERT_EQ(file.tensors().size(), 2u);
  const GgufTensorInfo* a = file.find("a.weight");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dims, (std::vector<uint64_t>{3, 2}));
  EXPECT_EQ(a->shape(), (Shape{2, 3}));  // reversed: [rows, cols]
  EXPECT_EQ(a->nbytes, 24u);
  EXPECT_EQ(a->offset, 0u);
  EXPECT_EQ(file.dequantize(*a), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  const GgufTensorInfo* b = file.find("b.weight");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->nbytes, 34u);
  EXPECT_EQ(b->offset, 32u);  // 24 bytes rounded up to the 32-byte alignment
  EXPECT_EQ(file.raw(*b)[0], 0x00);
  EXPECT_EQ(file.raw(*b)[1], 0x3c);
  const std::vector<float> bv = file.dequantize(*b);
  EXPECT_EQ(bv[0], -16.0f);
  EXPECT_EQ(bv[31], 15.0f);
  EXPECT_EQ(file.find("missing"), nullptr);
}

TEST(GgufFile, AcceptsVersion2) {
  GgufBuilder b = valid_builder();
  b.version = 2;
  EXPECT_EQ(GgufFile(write_temp("v2", b.build())).version(), 2u);
}

TEST(GgufFile, HonoursCustomAlignment) {
  GgufBuilder b;
  b.alignment = 64;
  b.kv_u32("general.alignment", 64);
  b.f32_tensor("x", {3}, {1, 2, 3}).f32_tensor("y", {2}, {4, 5});
  const GgufFile file(write_temp("align64", b.build()));
  EXPECT_EQ(file.find("y")->offset, 64u);
  EXPECT_EQ(file.dequantize(*file.find("y")), (std::vector<float>{4, 5}));
}

TEST(GgufFile, ZeroDimensionTensorIsAScalar) {
  GgufBuilder b;
  b.f32_tensor("s", {}, {7});
  const GgufFile file(write_temp("scalar", b.build()));
  EXPECT_EQ(file.find("s")->shape(), Shape{});
  EXPECT_EQ(file.dequantize(*file.find("s")), std::vector<float>{7});
}

TEST(GgufFile, EmptyFileWithoutTensors) {
  const GgufFile file(write_temp("no_tensors", GgufBuilder().build()));
  EXPECT_TRUE(file.tensors().empty());
  EXPECT_TRUE(file.metadata().empty());
}

TEST(GgufFile, RejectsBadHeader) {
  expect_rejected("empty", {}, "not a GGUF file");
  GgufBuilder b = valid_builder();
  b.magic = "GGML";
  expect_rejected("magic", b.build(), "magic is 'GGML'");
  b = valid_builder();
  b.version = 1;
  expect_rejected("v1", b.build(), "unsupported GGUF version 1");
  b.version = 4;
  expect_rejected("v4", b.build(), "unsupported GGUF version 4");
  b.version = 0x03000000;
  expect_rejected("big_endian", b.build(), "big-endian");
}

TEST(GgufFile, RejectsAbsurdCounts) {
  GgufBuilder b = valid_builder();
  b.kv_count = 1ull << 60;
  expect_rejected("kv_count", b.build(), "metadata count 1152921504606846976 is impossible");
  b = valid_builder();
  b.tensor_count = std::numeric_limits<uint64_t>::max();
  expect_rejected("tensor_count", b.build(), "tensor count 18446744073709551615 is impossible");
  // Plausible for the file size, but the file ends before the promised pairs:
  // the tensor infos are read as the extra pair, then the data as tensor infos.
  b = valid_builder();
  b.kv_count = b.kvs.size() + 1;
  expect_rejected("kv_count_short", b.build(), "runs past the end of the file");
}

TEST(GgufFile, RejectsBadMetadata) {
  GgufBuilder b;
  b.kv_raw(Bytes().str("k").put<uint32_t>(STR).put<uint64_t>(1ull << 40));
  expect_rejected("string_past_end", b.build(), "string length 1099511627776");
  b = GgufBuilder();
  b.kv_raw(Bytes().put<uint64_t>(~0ull).put<uint64_t>(0));  // 16 bytes: a plausible count
  expect_rejected("key_past_end", b.build(), "metadata key 0: string length 18446744073709551615");
  b = GgufBuilder();
  b.kv_raw(Bytes().str("k").put<uint32_t>(13).put<uint64_t>(0));
  expect_rejected("unknown_type", b.build(), "metadata 'k': unknown value type 13");
  b = GgufBuilder();
  b.kv_raw(Bytes().str("k").put<uint32_t>(ARR).put<uint32_t>(99).put<uint64_t>(0));
  expect_rejected("unknown_elem", b.build(), "unknown array element type 99");
  b = GgufBuilder();
  b.kv_raw(Bytes().str("k").put<uint32_t>(ARR).put<uint32_t>(ARR).put<uint64_t>(0));
  expect_rejected("nested_array", b.build(), "arrays of arrays");
  b = GgufBuilder();
  b.kv_raw(Bytes().str("k").put<uint32_t>(ARR).put<uint32_t>(U32).put<uint64_t>(1ull << 62));
  expect_rejected("array_count", b.build(), "array of 4611686018427387904 elements cannot fit");
  b = GgufBuilder();
  b.kv_raw(Bytes().str("k").put<uint32_t>(BOOL).put<uint8_t>(2));
  expect_rejected("bool", b.build(), "bool value 2");
  b = GgufBuilder();
  b.kv_u32("k", 1).kv_u32("k", 2);
  expect_rejected("duplicate_key", b.build(), "metadata key 'k' appears twice");
  b = GgufBuilder();
  b.kv_u32("general.alignment", 48);
  expect_rejected("alignment_48", b.build(), "general.alignment 48 is not a power of two");
  b = GgufBuilder();
  b.kv_u32("general.alignment", 0);
  expect_rejected("alignment_0", b.build(), "general.alignment 0 is not a power of two");
  b = GgufBuilder();
  b.kv_str("general.alignment", "32");
  expect_rejected("alignment_str", b.build(), "general.alignment is not an integer");
}

TEST(GgufFile, RejectsBadTensorInfos) {
  GgufBuilder b;
  b.f32_tensor("t", {1, 1, 1, 1, 1}, {1});
  expect_rejected("five_dims", b.build(), "tensor 't': 5 dimensions");
  b = GgufBuilder();
  b.tensor("t", {32}, 99, std::vector<uint8_t>(64));
  expect_rejected("unknown_ggml_type", b.build(), "tensor 't': unknown ggml type 99");
  b = GgufBuilder();
  b.tensor("t", {1ull << 32, 1ull << 32}, uint32_t(GgmlType::F32), {});
  expect_rejected("numel_overflow", b.build(), "tensor 't': element count overflows");
  b = GgufBuilder();
  b.tensor("t", {~0ull}, uint32_t(GgmlType::F32), {});
  expect_rejected("dim_overflow", b.build(), "element count overflows");
  b = GgufBuilder();
  b.tensor("t", {16}, uint32_t(GgmlType::Q4_0), std::vector<uint8_t>(18));
  expect_rejected("partial_block", b.build(),
                  "row length 16 is not a multiple of the Q4_0 block of 32");
  b = GgufBuilder();
  b.f32_tensor("t", {1}, {1}).f32_tensor("t", {1}, {2});
  expect_rejected("duplicate_tensor", b.build(), "tensor 't' appears twice");
  b = GgufBuilder();
  b.tensor("a\nb", {32}, 99, {});
  expect_rejected("control_bytes", b.build(), "tensor 'a\\x0ab': unknown ggml type 99");
  b = GgufBuilder();
  b.tensor("t", {2}, uint32_t(GgmlType::F32), std::vector<uint8_t>(8), 4);
  expect_rejected("misaligned", b.build(), "data offset 4 is not a multiple of the alignment 32");
}

TEST(GgufFile, RejectsTensorDataOutsideTheFile) {
  std::vector<uint8_t> bytes = valid_builder().build();
  bytes.pop_back();  // b.weight's last byte
  expect_rejected("truncated_data", bytes, "tensor 'b.weight': data [32, 66) runs past the end");
  GgufBuilder b;
  b.tensor("t", {8}, uint32_t(GgmlType::F32), {}, 1ull << 40);
  expect_rejected("offset_past_end", b.build(), "runs past the end of the file");
  b = GgufBuilder();  // offset + nbytes wraps around 2^64
  b.tensor("t", {8}, uint32_t(GgmlType::F32), {}, ~uint64_t(31));
  expect_rejected("offset_wraps", b.build(), "runs past the end of the file");
}

TEST(GgufFile, RejectsOverlappingTensors) {
  GgufBuilder b;
  b.f32_tensor("x", {16}, std::vector<float>(16, 1.0f));
  b.tensor("y", {8}, uint32_t(GgmlType::F32), std::vector<uint8_t>(32), 32);  // inside x [0, 64)
  expect_rejected("overlap", b.build(), "tensors 'x' [0, 64) and 'y' [32, 64) overlap");
}

TEST(GgufFile, DequantizeNamesFileTensorAndType) {
  GgufBuilder b;
  b.tensor("q81", {32}, uint32_t(GgmlType::Q8_1), std::vector<uint8_t>(40));
  const std::string path = write_temp("q81", b.build());
  const GgufFile file(path);
  try {
    file.dequantize(*file.find("q81"));
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("tensor 'q81': ggml type Q8_1 cannot be dequantized"), std::string::npos)
        << msg;
  }
}

// Every truncation of a valid file, and every single-byte corruption, either
// parses or throws Error: never crashes, hangs or allocates absurdly (run under
// WQUANT_SANITIZE=ON to check the reads too).
TEST(GgufFile, SurvivesEveryTruncationAndByteFlip) {
  // The file ends with b.weight's last data byte, so any shorter file lacks
  // part of the header or of the data and must be rejected. The file is
  // shrunk in place, longest cut first.
  const std::vector<uint8_t> valid = valid_builder().build();
  const std::string cut_path = write_temp("cut", valid);
  for (size_t n = valid.size(); n-- > 0;) {
    std::filesystem::resize_file(cut_path, n);
    try {
      GgufFile file(cut_path);
      ADD_FAILURE() << "truncation to " << n << " bytes parsed";
    } catch (const Error&) {
    }
  }
  // Each byte in turn set to 0x00, 0xff and itself ^ 0x80, patched in place.
  const std::string flip_path = write_temp("flip", valid);
  std::fstream patch(flip_path, std::ios::in | std::ios::out | std::ios::binary);
  for (size_t i = 0; i < valid.size(); ++i) {
    for (uint8_t v : {uint8_t(0x00), uint8_t(0xff), uint8_t(valid[i] ^ 0x80), valid[i]}) {
      patch.seekp(std::streamoff(i)).put(char(v)).flush();
      if (v == valid[i]) continue;  // restored
      try {
        const GgufFile file(flip_path);
        for (const GgufTensorInfo& t : file.tensors()) {
          if (ggml_can_dequantize(t.type)) file.dequantize(t);
        }
      } catch (const Error&) {
      }
    }
  }
}

// ---- open_gguf_checkpoint ----------------------------------------------------


// Returns values[r][c] = 100 * r + c for a [rows, cols] tensor (GGUF row order).
std::vector<float> row_coded(int rows, int cols) {
  std::vector<float> v;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) v.push_back(float(100 * r + c));
  }
  return v;
}

// Returns row r of a row-coded tensor's values: its first column is 100 * r.
std::vector<int> row_order(const std::vector<float>& v, int cols) {
  std::vector<int> rows;
  for (size_t i = 0; i < v.size(); i += size_t(cols)) rows.push_back(int(v[i]) / 100);
  return rows;
}

// A one-layer model: hidden 8, 2 heads of 4 (1 KV head), intermediate 32,
// vocabulary 5; every tensor F32 except ffn_down (Q8_0). No output.weight.
GgufBuilder tiny_model(const std::string& arch) {
  GgufBuilder b;
  b.kv_str("general.architecture", arch);
  b.kv_u32(arch + ".block_count", 1).kv_u32(arch + ".context_length", 64);
  b.kv_u32(arch + ".embedding_length", 8).kv_u32(arch + ".feed_forward_length", 32);
  b.kv_u32(arch + ".attention.head_count", 2).kv_u32(arch + ".attention.head_count_kv", 1);
  b.kv_u32(arch + ".rope.dimension_count", 4).kv_f32(arch + ".rope.freq_base", 10000.0f);
  b.kv_f32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
  b.kv_raw(Bytes().str("tokenizer.ggml.tokens").put<uint32_t>(ARR).put<uint32_t>(STR)
               .put<uint64_t>(5).str("a").str("b").str("c").str("d").str("e"));
  b.kv_u32("tokenizer.ggml.bos_token_id", 1).kv_u32("tokenizer.ggml.eos_token_id", 2);
  b.f32_tensor("token_embd.weight", {8, 5}, row_coded(5, 8));
  b.f32_tensor("blk.0.attn_norm.weight", {8}, std::vector<float>(8, 1.5f));
  b.f32_tensor("blk.0.attn_q.weight", {8, 8}, row_coded(8, 8));
  b.f32_tensor("blk.0.attn_q.bias", {8}, row_coded(8, 1));
  b.f32_tensor("blk.0.attn_k.weight", {8, 4}, row_coded(4, 8));
  b.f32_tensor("blk.0.attn_v.weight", {8, 4}, row_coded(4, 8));
  b.f32_tensor("blk.0.attn_output.weight", {8, 8}, row_coded(8, 8));
  b.f32_tensor("blk.0.ffn_gate.weight", {8, 32}, row_coded(32, 8));
  b.f32_tensor("blk.0.ffn_up.weight", {8, 32}, row_coded(32, 8));
  // ffn_down [8, 32] as Q8_0: 8 rows of one block, d = 1.0 (0x3c00), q = row.
  std::vector<uint8_t> down;
  for (int r = 0; r < 8; ++r) {
    down.push_back(0x00);
    down.push_back(0x3c);
    down.insert(down.end(), 32, uint8_t(r));
  }
  b.tensor("blk.0.ffn_down.weight", {32, 8}, uint32_t(GgmlType::Q8_0), down);
  b.f32_tensor("blk.0.ffn_norm.weight", {8}, std::vector<float>(8, 2.0f));
  b.f32_tensor("output_norm.weight", {8}, std::vector<float>(8, 3.0f));
  return b;
}

TEST(GgufCheckpoint, TranslatesNamesInFileOrder) {
  const auto ckpt = open_gguf_checkpoint(write_temp("tiny_llama", tiny_model("llama").build()));
  std::vector<std::string> names;
  for (const TensorInfo& t : ckpt->tensors()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "model.embed_tokens.weight",
                       "model.layers.0.input_layernorm.weight",
                       "model.layers.0.self_attn.q_proj.weight",
                       "model.layers.0.self_attn.q_proj.bias",
                       "model.layers.0.self_attn.k_proj.weight",
                       "model.layers.0.self_attn.v_proj.weight",
                       "model.layers.0.self_attn.o_proj.weight",
                       "model.layers.0.mlp.gate_proj.weight",
                       "model.layers.0.mlp.up_proj.weight",
                       "model.layers.0.mlp.down_proj.weight",
                       "model.layers.0.post_attention_layernorm.weight",
                       "model.norm.weight",
                   }));
  const TensorInfo& down = ckpt->info("model.layers.0.mlp.down_proj.weight");
  EXPECT_EQ(down.shape, (Shape{8, 32}));
  EXPECT_EQ(down.dtype, DType::F32);
  EXPECT_EQ(down.stored_type, "Q8_0");
  EXPECT_EQ(down.stored_bytes, 8u * 34u);
  EXPECT_EQ(ckpt->info("model.embed_tokens.weight").shape, (Shape{5, 8}));
  EXPECT_EQ(ckpt->info("model.embed_tokens.weight").stored_type, "F32");
}

TEST(GgufCheckpoint, SynthesisesConfig) {
  const auto ckpt = open_gguf_checkpoint(write_temp("tiny_llama", tiny_model("llama").build()));
  const nlohmann::json& c = ckpt->config();
  EXPECT_EQ(c["model_type"], "llama");
  EXPECT_EQ(c["architectures"], nlohmann::json::array({"LlamaForCausalLM"}));
  EXPECT_EQ(c["hidden_size"], 8);
  EXPECT_EQ(c["intermediate_size"], 32);
  EXPECT_EQ(c["num_hidden_layers"], 1);
  EXPECT_EQ(c["num_attention_heads"], 2);
  EXPECT_EQ(c["num_key_value_heads"], 1);
  EXPECT_EQ(c["head_dim"], 4);
  EXPECT_EQ(c["max_position_embeddings"], 64);
  EXPECT_EQ(c["vocab_size"], 5);  // from the token list: no llama.vocab_size
  EXPECT_EQ(c["rms_norm_eps"], double(1e-5f));
  EXPECT_EQ(c["rope_theta"], 10000.0);
  EXPECT_EQ(c["tie_word_embeddings"], true);  // no output.weight
  EXPECT_EQ(c["attention_bias"], true);       // blk.0.attn_q.bias
  EXPECT_EQ(c["bos_token_id"], 1);
  EXPECT_EQ(c["eos_token_id"], 2);
  EXPECT_EQ(c["torch_dtype"], "float32");
}

// llama.cpp stores the Hugging Face rows (i * half + j) of each head as rows
// (2 * j + i); with heads of 4 rows (half = 2) Hugging Face rows 0, 1, 2, 3
// come from stored rows 0, 2, 1, 3.
TEST(GgufCheckpoint, UndoesQueryKeyPermutation) {
  const auto ckpt = open_gguf_checkpoint(write_temp("tiny_llama", tiny_model("llama").build()));
  EXPECT_EQ(row_order(ckpt->read_f32("model.layers.0.self_attn.q_proj.weight"), 8),
            (std::vector<int>{0, 2, 1, 3, 4, 6, 5, 7}));  // 2 heads
  EXPECT_EQ(row_order(ckpt->read_f32("model.layers.0.self_attn.q_proj.bias"), 1),
            (std::vector<int>{0, 2, 1, 3, 4, 6, 5, 7}));
  EXPECT_EQ(row_order(ckpt->read_f32("model.layers.0.self_attn.k_proj.weight"), 8),
            (std::vector<int>{0, 2, 1, 3}));  // 1 KV head
  EXPECT_EQ(row_order(ckpt->read_f32("model.layers.0.self_attn.v_proj.weight"), 8),
            (std::vector<int>{0, 1, 2, 3}));  // not permuted
  EXPECT_EQ(row_order(ckpt->read_f32("model.layers.0.self_attn.o_proj.weight"), 8),
            (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  // Columns stay in place: q row 1 is stored row 2 = 200, 201, ..., 207.
  const std::vector<float> q = ckpt->read_f32("model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(q[8 + 7], 207.0f);
  const std::vector<float> down = ckpt->read_f32("model.layers.0.mlp.down_proj.weight");
  EXPECT_EQ(down[5 * 32 + 31], 5.0f);  // row 5: q = 5, d = 1
}

TEST(GgufCheckpoint, ViewsOnlyPlainF32) {
  const auto ckpt = open_gguf_checkpoint(write_temp("tiny_llama", tiny_model("llama").build()));
  const auto norm = ckpt->view("model.layers.0.input_layernorm.weight");
  ASSERT_TRUE(norm.has_value());
  EXPECT_EQ(norm->dtype, DType::F32);
  EXPECT_EQ(norm->shape, (Shape{8}));
  EXPECT_EQ(static_cast<const float*>(norm->data)[7], 1.5f);
  EXPECT_FALSE(ckpt->view("model.layers.0.self_attn.q_proj.weight").has_value());  // permuted
  EXPECT_FALSE(ckpt->view("model.layers.0.mlp.down_proj.weight").has_value());     // Q8_0
  EXPECT_TRUE(ckpt->view("model.layers.0.self_attn.v_proj.weight").has_value());
  // Releasing the pages is only a hint: the tensor still reads the same.
  ckpt->release("model.layers.0.input_layernorm.weight");
  EXPECT_EQ(ckpt->read_f32("model.layers.0.input_layernorm.weight")[7], 1.5f);
}

TEST(GgufCheckpoint, UnknownTensorNameIsAnError) {
  const std::string path = write_temp("tiny_llama", tiny_model("llama").build());
  const auto ckpt = open_gguf_checkpoint(path);
  try {
    ckpt->read_f32("model.layers.7.mlp.up_proj.weight");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no tensor named 'model.layers.7.mlp.up_proj.weight'"),
              std::string::npos) << e.what();
  }
}

TEST(GgufCheckpoint, Qwen2IsNotPermutedAndUntiedHasLmHead) {
  GgufBuilder b = tiny_model("qwen2");
  b.f32_tensor("output.weight", {8, 5}, row_coded(5, 8));
  const auto ckpt = open_gguf_checkpoint(write_temp("tiny_qwen2", b.build()));
  EXPECT_EQ(ckpt->config()["model_type"], "qwen2");
  EXPECT_EQ(ckpt->config()["architectures"], nlohmann::json::array({"Qwen2ForCausalLM"}));
  EXPECT_EQ(ckpt->config()["tie_word_embeddings"], false);
  EXPECT_EQ(row_order(ckpt->read_f32("model.layers.0.self_attn.q_proj.weight"), 8),
            (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(ckpt->info("lm_head.weight").shape, (Shape{5, 8}));
}

TEST(GgufCheckpoint, RejectsWhatItCannotTranslate) {
  expect_rejected_checkpoint("gpt2", tiny_model("gpt2").build(),
                             "unsupported architecture 'gpt2' (supported: llama, qwen2, qwen3, "
                             "gemma, gemma2, gemma3, phi3)");
  GgufBuilder b = tiny_model("llama");
  b.f32_tensor("blk.0.weird.weight", {8}, std::vector<float>(8, 0.0f));
  expect_rejected_checkpoint("weird", b.build(),
                             "tensor 'blk.0.weird.weight' has no Hugging Face equivalent");
  b = tiny_model("llama");
  b.kvs.erase(b.kvs.begin() + 3);  // llama.embedding_length
  expect_rejected_checkpoint("no_hidden", b.build(), "'llama.embedding_length' missing");
  b = tiny_model("llama");
  b.kvs.erase(b.kvs.begin() + 6);  // llama.attention.head_count_kv: k then has 2 heads of 2
  b.kvs.erase(b.kvs.begin() + 5);  // llama.attention.head_count
  b.kv_u32("llama.attention.head_count", 3);  // 8 q rows are not 3 heads of an even size
  expect_rejected_checkpoint("bad_heads", b.build(), "rows are not 3 heads of an even size");
  b = tiny_model("llama");
  b.kvs.erase(b.kvs.begin() + 6);  // llama.attention.head_count_kv
  b.kv_u32("llama.attention.head_count_kv", 0);
  expect_rejected_checkpoint("zero_kv_heads", b.build(),
                             "head_count_kv' 0 does not divide the 2 attention heads");
}

}  // namespace
}  // namespace wquant
