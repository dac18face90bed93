#include <gtest/gtest.h>

#include "wquant/pipeline/glob.h"

namespace wquant {
namespace {

TEST(Glob, Literals) {
  EXPECT_TRUE(glob_match("lm_head", "lm_head"));
  EXPECT_FALSE(glob_match("lm_head", "lm_head2"));
  EXPECT_FALSE(glob_match("lm_head", "lm_hea"));
  EXPECT_TRUE(glob_match("", ""));
  EXPECT_FALSE(glob_match("", "a"));
}

TEST(Glob, StarCrossesDots) {
  EXPECT_TRUE(glob_match("*.mlp.*", "model.layers.0.mlp.up_proj"));
  EXPECT_FALSE(glob_match("*.mlp.*", "model.layers.0.self_attn.q_proj"));
  EXPECT_TRUE(glob_match("model.layers.1*", "model.layers.12.mlp.down_proj"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXbYbZ"));
}

TEST(Glob, QuestionMark) {
  EXPECT_TRUE(glob_match("layers.?.fc1", "layers.3.fc1"));
  EXPECT_FALSE(glob_match("layers.?.fc1", "layers.13.fc1"));
}

// A pathological pattern must finish quickly (no exponential backtracking).
TEST(Glob, NoExponentialBacktracking) {
  const std::string text(2000, 'a');
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*b", text));
}

}  // namespace
}  // namespace wquant
