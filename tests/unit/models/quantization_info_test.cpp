// QuantizationInfo: reading a compressed-tensors quantization_config, and
// refusing one that is malformed with an Error naming the checkpoint.
#include <gtest/gtest.h>

#include "wquant/core/error.h"
#include "wquant/models/linear.h"

namespace wquant {
namespace {

nlohmann::json config_with(const nlohmann::json& group, const nlohmann::json& ignore = nlohmann::json::array()) {
  return {{"quantization_config",
           {{"quant_method", "compressed-tensors"}, {"format", "pack-quantized"},
            {"config_groups", {{"group_0", group}}}, {"ignore", ignore}}}};
}

std::string error_of(const nlohmann::json& config) {
  try {
    QuantizationInfo q(config, "ckpt");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const nlohmann::json kW4 = {{"num_bits", 4}, {"strategy", "group"}, {"group_size", 32}, {"symmetric", true}};

TEST(QuantizationInfo, ExactNamesRegexesAndIgnore) {
  const QuantizationInfo q(config_with({{"targets", {"re:.*mlp\\..*", "model.layers.0.self_attn.q_proj"}},
                                        {"weights", kW4}},
                                       {"re:.*layers\\.1\\..*"}),
                           "ckpt");
  EXPECT_TRUE(q.scheme_for("model.layers.0.mlp.up_proj").has_value());
  EXPECT_TRUE(q.scheme_for("model.layers.0.self_attn.q_proj").has_value());
  EXPECT_FALSE(q.scheme_for("model.layers.0.self_attn.k_proj").has_value());
  EXPECT_FALSE(q.scheme_for("model.layers.1.mlp.up_proj").has_value());  // ignored
  EXPECT_EQ(q.scheme_for("model.layers.0.mlp.up_proj")->group_size, 32);
}

TEST(QuantizationInfo, MalformedIsAnErrorNamingTheCheckpoint) {
  // Found by fuzz_compressed_tensors: a target that is not a string escaped
  // as nlohmann's type_error; a bad "re:" regex as std::regex_error.
  EXPECT_EQ(error_of(config_with({{"targets", {true}}, {"weights", kW4}})),
            "ckpt: config group group_0: targets: true is not a string");
  EXPECT_NE(error_of(config_with({{"targets", {"re:("}}, {"weights", kW4}}))
                .find("ckpt: config group group_0: targets: \"re:(\" is not a regular expression"),
            std::string::npos);
  EXPECT_EQ(error_of(config_with({{"targets", {"x"}}, {"weights", kW4}}, {"re:[z-a]"})).rfind(
                "ckpt: quantization_config ignore: \"re:[z-a]\" is not a regular expression", 0),
            0u);
  // Found by fuzz_config: a backreference of 19 digits overflowed a long
  // inside libstdc++'s regex compiler (undefined behaviour); such patterns
  // are refused before std::regex sees them.
  EXPECT_EQ(error_of(config_with({{"targets", {"x"}}, {"weights", kW4}}, {"re:.*layers\\7777777777777777777.0"})),
            "ckpt: quantization_config ignore: \".*layers\\7777777777777777777.0\" has a backreference (not "
            "supported)");
  EXPECT_EQ(error_of(config_with({{"targets", {"re:a{1,10000000}"}}, {"weights", kW4}})),
            "ckpt: config group group_0: targets: \"a{1,10000000}\" has a number of more than 6 digits");
  // Found by fuzz_config: ".*+" made std::regex run 15 s on one tensor name.
  EXPECT_EQ(error_of(config_with({{"targets", {"x"}}, {"weights", kW4}}, {"re:.*+ayers\\.0\\.num_attention_hea.*"})),
            "ckpt: quantization_config ignore: \".*+ayers\\.0\\.num_attention_hea.*\" has a quantifier on a quantifier "
            "(only a lazy '?' may follow one)");
  EXPECT_EQ(error_of(config_with({{"targets", {"re:.*?mlp.*"}}, {"weights", kW4}})), "(no error)");  // lazy: fine
  EXPECT_EQ(error_of(config_with({{"targets", {"re:(a)\\1"}}, {"weights", kW4}})),
            "ckpt: config group group_0: targets: \"(a)\\1\" has a backreference (not supported)");
  EXPECT_EQ(error_of(config_with({{"targets", {"re:" + std::string(600, 'a')}}, {"weights", kW4}})),
            "ckpt: config group group_0: targets: regular expression of 600 characters (at most 512)");
  EXPECT_EQ(error_of(config_with({{"targets", {"re:.*layers\\.1[0-9]{2}\\..*"}}, {"weights", kW4}})), "(no error)");
  // Found by fuzz_config: ".??...?*" took minutes of backtracking on one name.
  EXPECT_NE(error_of(config_with({{"targets", {"x"}}, {"weights", kW4}}, {"re:.?????*layer\\.0\\..*"}))
                .find("has three quantifiers in a row"),
            std::string::npos);
  EXPECT_NE(error_of(config_with({{"targets", {"re:(a*)*b"}}, {"weights", kW4}})).find("repeats a group that repeats"),
            std::string::npos);
  EXPECT_NE(error_of(config_with({{"targets", {"re:(up|gate)+"}}, {"weights", kW4}})).find("repeats a group"),
            std::string::npos);
  EXPECT_NE(error_of(config_with({{"targets", {"re:.*a.*b.*c.*d.*"}}, {"weights", kW4}})).find("more than 4 quantifiers"),
            std::string::npos);
  // What real configs write passes (llm-compressor, compressed-tensors docs).
  for (const char* ok : {"re:.*mlp\\.(up|gate)_proj$", "re:model\\.layers\\.\\d+\\..*", "re:.*lm_head",
                         "re:.*self_attn\\.(q|k|v|o)_proj$", "re:.*[0-9]+\\.mlp.*?", "re:[^.]*\\.(a|b)"})
    EXPECT_EQ(error_of(config_with({{"targets", {ok}}, {"weights", kW4}})), "(no error)") << ok;
  nlohmann::json bits = kW4;
  bits["num_bits"] = 1e300;
  EXPECT_EQ(error_of(config_with({{"targets", {"x"}}, {"weights", bits}})),
            "ckpt: config group group_0: weights 'num_bits' is 1e+300, expected an integer in [1, 8]");
  nlohmann::json strategy = kW4;
  strategy["strategy"] = 7;
  EXPECT_EQ(error_of(config_with({{"targets", {"x"}}, {"weights", strategy}})).rfind(
                "ckpt: quantization_config: unexpected content: ", 0),
            0u);
}

}  // namespace
}  // namespace wquant
