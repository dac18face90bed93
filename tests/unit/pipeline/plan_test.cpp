#include <gtest/gtest.h>

#include "fake_checkpoint.h"
#include "wquant/core/error.h"
#include "wquant/pipeline/plan.h"

namespace wquant {
namespace {

using testing::FakeCheckpoint;

FakeCheckpoint tiny_llama() {
  return FakeCheckpoint("llama", {
      {"model.embed_tokens.weight", {100, 64}},
      {"model.layers.0.input_layernorm.weight", {64}},
      {"model.layers.0.self_attn.q_proj.weight", {64, 64}},
      {"model.layers.0.self_attn.k_proj.weight", {32, 64}},
      {"model.layers.0.mlp.up_proj.weight", {128, 64}},
      {"model.layers.0.mlp.down_proj.weight", {64, 128}},
      {"model.norm.weight", {64}},
      {"lm_head.weight", {100, 64}},
  });
}

const TensorPlan& find(const Plan& p, const std::string& name) {
  for (const auto& t : p.tensors)
    if (t.tensor == name) return t;
  throw std::runtime_error("no " + name);
}

TEST(Plan, LlamaDefaultsQuantizeLinearOnly) {
  const auto ckpt = tiny_llama();
  const Plan p = build_plan(ckpt, PlanOptions{});
  EXPECT_TRUE(p.rules.known);
  EXPECT_EQ(p.quantized_count(), 4u);
  EXPECT_FALSE(find(p, "lm_head.weight").quantize);
  EXPECT_EQ(find(p, "lm_head.weight").reason, "lm_head, excluded by default");
  EXPECT_FALSE(find(p, "model.embed_tokens.weight").quantize);
  EXPECT_FALSE(find(p, "model.norm.weight").quantize);
  EXPECT_EQ(find(p, "model.layers.0.mlp.up_proj.weight").layer, "model.layers.0.mlp.up_proj");
}

TEST(Plan, ExcludeIncludeAndOverride) {
  const auto ckpt = tiny_llama();
  PlanOptions o;
  o.exclude = {"*.k_proj"};
  o.include = {"lm_head"};
  o.overrides = {{"*.mlp.*", parse_scheme("w4-g32-asym", o.scheme)}};
  const Plan p = build_plan(ckpt, o);
  EXPECT_FALSE(find(p, "model.layers.0.self_attn.k_proj.weight").quantize);
  EXPECT_EQ(find(p, "model.layers.0.self_attn.k_proj.weight").reason, "excluded by --exclude *.k_proj");
  EXPECT_TRUE(find(p, "lm_head.weight").quantize);
  const auto& up = find(p, "model.layers.0.mlp.up_proj.weight");
  EXPECT_EQ(up.scheme.bits, 4);
  EXPECT_EQ(up.scheme.group_size, 32);
  EXPECT_FALSE(up.scheme.symmetric);
  EXPECT_EQ(find(p, "model.layers.0.self_attn.q_proj.weight").scheme.bits, 8);
}

TEST(Plan, IncludeOrOverrideThatMatchesNothingIsAnError) {
  const auto ckpt = tiny_llama();
  PlanOptions o;
  o.include = {"lm_haed"};
  try {
    build_plan(ckpt, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--include lm_haed: matches no tensor"), std::string::npos);
  }
  PlanOptions o2;
  o2.overrides = {{"*.experts.*", QuantScheme{}}};
  EXPECT_THROW(build_plan(ckpt, o2), Error);
}

// An --exclude that matches nothing (a typo) is harmless: a warning, not an error.
TEST(Plan, ExcludeThatMatchesNothingIsAWarning) {
  const auto ckpt = tiny_llama();
  PlanOptions o;
  o.exclude = {"lm_haed"};
  const Plan p = build_plan(ckpt, o);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_EQ(p.warnings[0], "--exclude lm_haed: matches no tensor in fake");
}

// A tied model's lm_head is its token embedding, float by default: excluding
// it is already so, and the seeds' exclude=["lm_head"] warns nothing.
TEST(Plan, ExcludeLmHeadOfATiedModelIsSilent) {
  FakeCheckpoint ckpt("llama", {{"model.embed_tokens.weight", {100, 64}},
                                {"model.layers.0.mlp.up_proj.weight", {128, 64}}});
  PlanOptions o;
  o.exclude = {"lm_head"};
  EXPECT_EQ(build_plan(ckpt, o).warnings.size(), 1u);  // not said to be tied: a warning
  ckpt.mutable_config()["tie_word_embeddings"] = true;
  EXPECT_TRUE(build_plan(ckpt, o).warnings.empty());
  o.exclude = {"lm_haed"};
  EXPECT_EQ(build_plan(ckpt, o).warnings.size(), 1u);
}

TEST(Plan, GroupLargerThanLayerIsAnError) {
  const auto ckpt = tiny_llama();
  PlanOptions o;
  o.scheme = parse_scheme("w4-g256", o.scheme);
  EXPECT_THROW(build_plan(ckpt, o), Error);
}

TEST(Plan, GroupThatDoesNotDivideIsShrunk) {
  // 576 input features (SmolLM2's hidden size) with g128: 576 = 4.5 x 128;
  // the largest multiple of 32 <= 128 dividing 576 is 96 (576 = 6 x 96).
  const FakeCheckpoint ckpt("llama", {{"model.layers.0.mlp.up_proj.weight", {1536, 576}},
                                      {"model.layers.0.mlp.down_proj.weight", {576, 1536}}});
  PlanOptions o;
  o.scheme = parse_scheme("w4-g128", o.scheme);
  const Plan p = build_plan(ckpt, o);
  EXPECT_EQ(find(p, "model.layers.0.mlp.up_proj.weight").scheme.group_size, 96);
  EXPECT_EQ(find(p, "model.layers.0.mlp.up_proj.weight").reason,
            "linear, group size 96 (128 does not divide 576)");
  EXPECT_EQ(find(p, "model.layers.0.mlp.down_proj.weight").scheme.group_size, 128);
}

TEST(Plan, Gpt2ConvWeightsAreTransposed) {
  const FakeCheckpoint ckpt("gpt2", {{"h.0.attn.c_attn.weight", {64, 192}},
                                     {"h.0.mlp.c_fc.weight", {64, 256}},
                                     {"wte.weight", {100, 64}},
                                     {"wpe.weight", {32, 64}}});
  const Plan p = build_plan(ckpt, PlanOptions{});
  EXPECT_TRUE(find(p, "h.0.attn.c_attn.weight").quantize);
  EXPECT_TRUE(find(p, "h.0.attn.c_attn.weight").cls.transposed);
  EXPECT_FALSE(find(p, "wte.weight").quantize);
  EXPECT_FALSE(find(p, "wpe.weight").quantize);
}

TEST(Plan, BertOptCodegenRules) {
  const FakeCheckpoint bert("bert", {{"encoder.layer.0.attention.self.query.weight", {8, 8}},
                                     {"encoder.layer.0.attention.output.dense.weight", {8, 8}},
                                     {"encoder.layer.0.attention.output.LayerNorm.weight", {8}},
                                     {"embeddings.word_embeddings.weight", {50, 8}}});
  EXPECT_EQ(build_plan(bert, PlanOptions{}).quantized_count(), 2u);
  const FakeCheckpoint opt("opt", {{"model.decoder.project_in.weight", {16, 8}},
                                   {"model.decoder.layers.0.self_attn.out_proj.weight", {16, 16}},
                                   {"model.decoder.layers.0.fc1.weight", {32, 16}},
                                   {"model.decoder.embed_positions.weight", {10, 16}}});
  EXPECT_EQ(build_plan(opt, PlanOptions{}).quantized_count(), 3u);
  const FakeCheckpoint codegen("codegen", {{"transformer.h.0.attn.qkv_proj.weight", {48, 16}},
                                           {"transformer.h.0.mlp.fc_out.weight", {16, 64}},
                                           {"transformer.wte.weight", {50, 16}}});
  EXPECT_EQ(build_plan(codegen, PlanOptions{}).quantized_count(), 2u);
}

TEST(Plan, UnknownArchitectureUsesGenericRule) {
  const FakeCheckpoint ckpt("mystery", {{"blocks.0.proj.weight", {8, 8}},
                                        {"blocks.0.norm.weight", {8, 8}},
                                        {"tok_embeddings.weight", {50, 8}},
                                        {"blocks.0.proj.bias", {8}}});
  const Plan p = build_plan(ckpt, PlanOptions{});
  EXPECT_FALSE(p.rules.known);
  EXPECT_EQ(p.rules.model_type, "generic");
  EXPECT_EQ(p.quantized_count(), 1u);
  EXPECT_TRUE(find(p, "blocks.0.proj.weight").quantize);
}

TEST(ParseScheme, TokensAndErrors) {
  const QuantScheme base;
  const auto s = parse_scheme("w4-g128-asym", base);
  EXPECT_EQ(s.bits, 4);
  EXPECT_EQ(s.granularity, Granularity::PerGroup);
  EXPECT_EQ(s.group_size, 128);
  EXPECT_FALSE(s.symmetric);
  EXPECT_EQ(parse_scheme("w8,tensor", base).granularity, Granularity::PerTensor);
  EXPECT_EQ(parse_scheme("asym", base).bits, 8);  // unspecified parts from base
  EXPECT_THROW(parse_scheme("w5", base), Error);
  EXPECT_THROW(parse_scheme("w4-fast", base), Error);
  EXPECT_THROW(parse_scheme("", base), Error);
}

}  // namespace
}  // namespace wquant
