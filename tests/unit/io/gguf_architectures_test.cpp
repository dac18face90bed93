// The GGUF architectures beyond llama / qwen2 (qwen3, gemma 1-3, phi3): each
// one's tensor names, gemma's norm + 1 undone, and the config values that
// come from llama.cpp's own defaults when the file has no key for them.
// Files converted by llama.cpp itself are compared with transformers in
// tests/python/test_gguf_architectures.py.
#include <gtest/gtest.h>

#include "gguf_builder.h"
#include "wquant/core/error.h"
#include "wquant/io/checkpoint_formats.h"

namespace wquant {
namespace {

using namespace gguf_test;

struct Part {
  std::string name;            // llama.cpp name inside a layer: "attn_q"
  std::vector<uint64_t> dims;  // ggml order: innermost first
};

// Returns the parts of a layer with hidden 8, 2 query heads and 1 KV head of
// `hd` values, MLP 16. Gemma 2 / 3 add their sandwich norms, qwen3 and
// gemma3 their per-head q / k norms; phi3 has its fused projections.
std::vector<Part> layer_parts(const std::string& arch, uint64_t hd) {
  if (arch == "phi3") {
    return {{"attn_norm", {8}}, {"attn_qkv", {8, 4 * hd}}, {"attn_output", {2 * hd, 8}},
            {"ffn_norm", {8}},  {"ffn_up", {8, 32}},       {"ffn_down", {16, 8}}};
  }
  std::vector<Part> parts = {{"attn_norm", {8}},        {"attn_q", {8, 2 * hd}},
                             {"attn_k", {8, hd}},       {"attn_v", {8, hd}},
                             {"attn_output", {2 * hd, 8}}, {"ffn_norm", {8}},
                             {"ffn_gate", {8, 16}},     {"ffn_up", {8, 16}},
                             {"ffn_down", {16, 8}}};
  if (arch == "gemma2" || arch == "gemma3") {
    parts.push_back({"post_attention_norm", {8}});
    parts.push_back({"post_ffw_norm", {8}});
  }
  if (arch == "qwen3" || arch == "gemma3") {
    parts.push_back({"attn_q_norm", {hd}});
    parts.push_back({"attn_k_norm", {hd}});
  }
  return parts;
}

// Returns the value every element of part `index` holds: index + 0.5.
float part_value(size_t index) { return float(index) + 0.5f; }

// A model of `layers` layers of architecture `arch` (heads of `hd` values,
// attention.key_length set when hd is not hidden / heads = 4), vocabulary 5,
// every tensor F32 and constant: part i of every layer is part_value(i),
// token_embd 0.25, output_norm 2.5.
GgufBuilder model(const std::string& arch, int layers, uint64_t hd = 4) {
  GgufBuilder b;
  b.kv_str("general.architecture", arch);
  b.kv_u32(arch + ".block_count", uint32_t(layers)).kv_u32(arch + ".context_length", 64);
  b.kv_u32(arch + ".embedding_length", 8).kv_u32(arch + ".feed_forward_length", 16);
  b.kv_u32(arch + ".attention.head_count", 2).kv_u32(arch + ".attention.head_count_kv", 1);
  b.kv_f32(arch + ".attention.layer_norm_rms_epsilon", 1e-6f);
  if (hd != 4) b.kv_u32(arch + ".attention.key_length", uint32_t(hd));
  b.f32_tensor("token_embd.weight", {8, 5}, std::vector<float>(40, 0.25f));
  b.f32_tensor("output_norm.weight", {8}, std::vector<float>(8, 2.5f));
  const std::vector<Part> parts = layer_parts(arch, hd);
  for (int l = 0; l < layers; ++l) {
    for (size_t i = 0; i < parts.size(); ++i) {
      uint64_t n = 1;
      for (const uint64_t d : parts[i].dims) n *= d;
      b.f32_tensor(cat("blk.", l, ".", parts[i].name, ".weight"), parts[i].dims,
                   std::vector<float>(n, part_value(i)));
    }
  }
  return b;
}

// Returns the index of part `name` in layer_parts(arch, 4).
size_t part_index(const std::string& arch, const std::string& name) {
  const std::vector<Part> parts = layer_parts(arch, 4);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].name == name) return i;
  }
  ADD_FAILURE() << "no part " << name;
  return 0;
}

std::unique_ptr<CheckpointReader> open(const std::string& name, const GgufBuilder& b) {
  return open_gguf_checkpoint(write_temp(name, b.build()));
}

// Expects opening the file to fail naming it and `problem`.
void expect_rejected(const std::string& name, const GgufBuilder& b, const std::string& problem) {
  expect_rejected_checkpoint(name, b.build(), problem);
}

// Gemma 2's "ffn_norm" is the norm before the MLP (pre_feedforward_layernorm),
// not llama's post_attention_layernorm, which is gemma 2's "post_attention_norm".
TEST(GgufArchitectures, Gemma2NamesItsSandwichNormsAndUndoesNormPlusOne) {
  const auto ckpt = open("gemma2", model("gemma2", 1));
  const auto value = [&](const std::string& hf) { return ckpt->read_f32(hf)[0]; };
  const float post_attention = part_value(part_index("gemma2", "post_attention_norm"));
  EXPECT_EQ(value("model.layers.0.post_attention_layernorm.weight"), post_attention - 1);
  EXPECT_EQ(value("model.layers.0.pre_feedforward_layernorm.weight"),
            part_value(part_index("gemma2", "ffn_norm")) - 1);
  EXPECT_EQ(value("model.layers.0.post_feedforward_layernorm.weight"),
            part_value(part_index("gemma2", "post_ffw_norm")) - 1);
  EXPECT_EQ(value("model.layers.0.input_layernorm.weight"), part_value(0) - 1);
  EXPECT_EQ(value("model.norm.weight"), 1.5f);  // output_norm 2.5
  // Only norms are shifted; weights are not.
  EXPECT_EQ(value("model.layers.0.self_attn.q_proj.weight"),
            part_value(part_index("gemma2", "attn_q")));
  EXPECT_EQ(value("model.embed_tokens.weight"), 0.25f);
  // A shifted tensor has no zero-copy view; an unchanged F32 one has.
  EXPECT_FALSE(ckpt->view("model.layers.0.post_attention_layernorm.weight").has_value());
  EXPECT_TRUE(ckpt->view("model.layers.0.self_attn.q_proj.weight").has_value());
}

TEST(GgufArchitectures, Gemma1NormsAreLlamaNamedAndShifted) {
  const auto ckpt = open("gemma", model("gemma", 1));
  EXPECT_EQ(ckpt->read_f32("model.layers.0.post_attention_layernorm.weight")[0],
            part_value(part_index("gemma", "ffn_norm")) - 1);
  const nlohmann::json& c = ckpt->config();
  EXPECT_EQ(c["architectures"], nlohmann::json::array({"GemmaForCausalLM"}));
  EXPECT_EQ(c["hidden_act"], "gelu_pytorch_tanh");
  EXPECT_EQ(c["head_dim"], 4);
  EXPECT_EQ(c["tie_word_embeddings"], true);
}

// Without their keys, llama.cpp runs gemma2 with soft-caps 50 / 30, a
// 4096-key window on the even layers, and scores scaled by 1/sqrt(head_dim).
TEST(GgufArchitectures, Gemma2ConfigDefaultsAreLlamaCpps) {
  const auto ckpt = open("gemma2_defaults", model("gemma2", 3, 8));
  const nlohmann::json& c = ckpt->config();
  EXPECT_EQ(c["model_type"], "gemma2");
  EXPECT_EQ(c["head_dim"], 8);
  EXPECT_EQ(c["query_pre_attn_scalar"], 8);
  EXPECT_EQ(c["attn_logit_softcapping"], 50.0);
  EXPECT_EQ(c["final_logit_softcapping"], 30.0);
  EXPECT_EQ(c["sliding_window"], 4096);
  EXPECT_EQ(c["layer_types"],
            nlohmann::json({"sliding_attention", "full_attention", "sliding_attention"}));
  EXPECT_EQ(c["hidden_activation"], "gelu_pytorch_tanh");
}

TEST(GgufArchitectures, Gemma2KeysOverrideTheDefaults) {
  GgufBuilder b = model("gemma2", 2);
  b.kv_f32("gemma2.attn_logit_softcapping", 0.5f).kv_f32("gemma2.final_logit_softcapping", 0.25f);
  b.kv_u32("gemma2.attention.sliding_window", 7);
  const nlohmann::json c = open("gemma2_keys", b)->config();
  EXPECT_EQ(c["attn_logit_softcapping"], 0.5);
  EXPECT_EQ(c["final_logit_softcapping"], 0.25);
  EXPECT_EQ(c["sliding_window"], 7);
}

// llama.cpp's 27B models (gemma2: 46 layers, gemma3: 62) scale by
// 1/sqrt(hidden / heads) = 1/sqrt(4) here, not 1/sqrt(head_dim = 8).
TEST(GgufArchitectures, TwentySevenBModelsScaleByHiddenOverHeads) {
  EXPECT_EQ(open("gemma2_27b", model("gemma2", 46, 8))->config()["query_pre_attn_scalar"], 4);
  GgufBuilder b = model("gemma3", 62, 8);
  EXPECT_EQ(open("gemma3_27b", b)->config()["query_pre_attn_scalar"], 4);
  EXPECT_EQ(open("gemma3_1b", model("gemma3", 26, 8))->config()["query_pre_attn_scalar"], 8);
}

// Gemma 3: five of every six layers slide (when a window is set), at rope
// base 10000 unless rope.freq_base_swa says otherwise; no soft-caps.
TEST(GgufArchitectures, Gemma3SlidesFiveOfSixLayersAtBase10000) {
  GgufBuilder b = model("gemma3", 7);
  b.kv_u32("gemma3.attention.sliding_window", 4).kv_f32("gemma3.rope.freq_base", 1e6f);
  const nlohmann::json c = open("gemma3", b)->config();
  EXPECT_EQ(c["model_type"], "gemma3_text");
  EXPECT_EQ(c["architectures"], nlohmann::json::array({"Gemma3ForCausalLM"}));
  EXPECT_EQ(c["sliding_window"], 4);
  const std::string s = "sliding_attention", f = "full_attention";
  EXPECT_EQ(c["layer_types"], nlohmann::json({s, s, s, s, s, f, s}));
  EXPECT_EQ(c["rope_parameters"]["full_attention"]["rope_theta"], 1e6);
  EXPECT_EQ(c["rope_parameters"]["sliding_attention"]["rope_theta"], 1e4);
  EXPECT_FALSE(c.contains("rope_theta"));
  EXPECT_TRUE(c["attn_logit_softcapping"].is_null());
  EXPECT_TRUE(c["final_logit_softcapping"].is_null());
}

TEST(GgufArchitectures, Gemma3PatternKeysAndNoWindow) {
  // A bool array names each layer (true: sliding); an integer n is the period.
  GgufBuilder b = model("gemma3", 3);
  b.kv_u32("gemma3.attention.sliding_window", 4).kv_f32("gemma3.rope.freq_base_swa", 5e4f);
  b.kv_raw(Bytes().str("gemma3.attention.sliding_window_pattern").put<uint32_t>(ARR)
               .put<uint32_t>(BOOL).put<uint64_t>(3)
               .put<uint8_t>(1).put<uint8_t>(0).put<uint8_t>(1));
  nlohmann::json c = open("gemma3_array", b)->config();
  EXPECT_EQ(c["layer_types"],
            nlohmann::json({"sliding_attention", "full_attention", "sliding_attention"}));
  EXPECT_EQ(c["rope_parameters"]["sliding_attention"]["rope_theta"], 5e4);

  b = model("gemma3", 3);
  b.kv_u32("gemma3.attention.sliding_window", 4);
  b.kv_u32("gemma3.attention.sliding_window_pattern", 2);
  c = open("gemma3_period", b)->config();
  EXPECT_EQ(c["layer_types"],
            nlohmann::json({"sliding_attention", "full_attention", "sliding_attention"}));

  // No window: every layer attends to the whole context.
  c = open("gemma3_full", model("gemma3", 2))->config();
  EXPECT_EQ(c["layer_types"], nlohmann::json({"full_attention", "full_attention"}));
  EXPECT_FALSE(c.contains("sliding_window"));

  b = model("gemma3", 2);
  b.kv_u32("gemma3.attention.sliding_window", 4);
  b.kv_raw(Bytes().str("gemma3.attention.sliding_window_pattern").put<uint32_t>(ARR)
               .put<uint32_t>(BOOL).put<uint64_t>(1).put<uint8_t>(1));
  expect_rejected("gemma3_short_pattern", b, "has 1 entries for 2 layers");
}

TEST(GgufArchitectures, Qwen3HeadDimComesFromKeyLength) {
  const auto ckpt = open("qwen3", model("qwen3", 1, 8));
  const nlohmann::json& c = ckpt->config();
  EXPECT_EQ(c["architectures"], nlohmann::json::array({"Qwen3ForCausalLM"}));
  EXPECT_EQ(c["head_dim"], 8);  // not hidden / heads = 4
  EXPECT_EQ(c["attention_bias"], false);
  EXPECT_EQ(ckpt->info("model.layers.0.self_attn.q_norm.weight").shape, (Shape{8}));
  EXPECT_EQ(ckpt->read_f32("model.layers.0.self_attn.k_norm.weight")[0],
            part_value(part_index("qwen3", "attn_k_norm")));  // not shifted
  EXPECT_EQ(ckpt->read_f32("model.layers.0.self_attn.q_proj.weight")[0],
            part_value(part_index("qwen3", "attn_q")));

  GgufBuilder b = model("qwen3", 1, 8);
  b.kv_u32("qwen3.attention.value_length", 4);
  expect_rejected("qwen3_value_length", b, "'qwen3.attention.value_length' 4 differ");
}

TEST(GgufArchitectures, Phi3KeepsFusedProjectionsAndPartialRotary) {
  GgufBuilder b = model("phi3", 1);
  b.kv_u32("phi3.rope.dimension_count", 2).kv_u32("phi3.attention.sliding_window", 6);
  b.kv_u32("phi3.rope.scaling.original_context_length", 4096);
  const auto ckpt = open("phi3", b);
  EXPECT_EQ(ckpt->info("model.layers.0.self_attn.qkv_proj.weight").shape, (Shape{16, 8}));
  EXPECT_EQ(ckpt->info("model.layers.0.mlp.gate_up_proj.weight").shape, (Shape{32, 8}));
  const nlohmann::json& c = ckpt->config();
  EXPECT_EQ(c["architectures"], nlohmann::json::array({"Phi3ForCausalLM"}));
  EXPECT_EQ(c["head_dim"], 4);
  EXPECT_EQ(c["partial_rotary_factor"], 0.5);  // 2 of 4
  EXPECT_EQ(c["sliding_window"], 6);
  EXPECT_EQ(c["original_max_position_embeddings"], 4096);

  b = model("phi3", 1);
  b.kv_u32("phi3.attention.sliding_window", 0);  // the converter's "none"
  EXPECT_TRUE(open("phi3_no_window", b)->config()["sliding_window"].is_null());
  EXPECT_EQ(open("phi3_no_window", b)->config()["partial_rotary_factor"], 1.0);

  b = model("phi3", 1);
  b.kv_u32("phi3.rope.dimension_count", 6);
  expect_rejected("phi3_rotary", b, "rope.dimension_count' 6 is not a rotary part");
  b = model("phi3", 1);
  b.f32_tensor("rope_factors_long.weight", {1}, {1.0f});
  expect_rejected("phi3_longrope", b, "rope_factors_long.weight' (llama3 / longrope");
}

TEST(GgufArchitectures, MissingTensorIsNamed) {
  GgufBuilder b = model("gemma2", 2);
  b.tensors.erase(std::find_if(b.tensors.begin(), b.tensors.end(), [](const auto& t) {
    return t.name == "blk.1.post_ffw_norm.weight";
  }));
  expect_rejected("gemma2_no_post_ffw_norm", b,
                  "tensor 'blk.1.post_ffw_norm.weight' "
                  "(model.layers.1.post_feedforward_layernorm.weight) missing");
  b = model("gemma", 1);
  b.tensors.erase(b.tensors.begin() + 1);  // output_norm.weight
  expect_rejected("gemma_no_output_norm", b, "tensor 'output_norm.weight' missing");
}

// The name tables are per architecture: gemma3's q_norm is not a gemma2 tensor.
TEST(GgufArchitectures, AnotherArchitecturesTensorIsUnknown) {
  GgufBuilder b = model("gemma2", 1);
  b.f32_tensor("blk.0.attn_q_norm.weight", {4}, std::vector<float>(4, 1.0f));
  expect_rejected("gemma2_q_norm", b,
                  "tensor 'blk.0.attn_q_norm.weight' has no Hugging Face equivalent for "
                  "architecture 'gemma2'");
}

}  // namespace
}  // namespace wquant
