#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../pipeline/fake_checkpoint.h"
#include "wquant/core/error.h"
#include "wquant/models/encoder.h"

namespace wquant {
namespace {

// Two tokens of width 2: {1, 2} and {5, 6} average to {3, 4}, norm 5.
TEST(MeanPoolNormalize, HandComputed) {
  const std::vector<float> out = mean_pool_normalize({1, 2, 5, 6}, 2, 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FLOAT_EQ(out[0], 0.6f);
  EXPECT_FLOAT_EQ(out[1], 0.8f);
}

TEST(MeanPoolNormalize, ZeroStaysZero) {
  const std::vector<float> out = mean_pool_normalize({1, -1, -1, 1}, 2, 2);
  EXPECT_EQ(out, (std::vector<float>{0, 0}));
}

TEST(MeanPoolNormalize, SizeMismatchThrows) {
  EXPECT_THROW(mean_pool_normalize({1, 2, 3}, 2, 2), Error);
}

TEST(LoadEncoder, UnknownModelTypeListsSupported) {
  const testing::FakeCheckpoint ckpt("llama", {});
  try {
    load_encoder(ckpt);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'llama'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("supported: bert"), std::string::npos) << msg;
  }
}

TEST(LoadEncoder, BertConfigMissingKeyNamesIt) {
  const testing::FakeCheckpoint ckpt("bert", {});
  try {
    load_encoder(ckpt);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vocab_size"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wquant
