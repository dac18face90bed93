// open_checkpoint / open_safetensors_checkpoint: single files, model
// directories, sharded indexes, config.json handling, side files, and the
// errors for inconsistent indexes.
#include <gtest/gtest.h>

#include "temp_dir_test.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "wquant/core/error.h"
#include "wquant/core/half.h"
#include "wquant/io/checkpoint.h"
#include "wquant/io/checkpoint_formats.h"
#include "wquant/io/safetensors.h"

namespace wquant {
namespace {
namespace fs = std::filesystem;

class Checkpoint : public testing::TempDirTest {
 protected:

  void write_text(const std::string& name, const std::string& text) {
    fs::create_directories(fs::path(path(name)).parent_path());
    std::ofstream(path(name)) << text;
  }
  // Writes a safetensors file holding U8 tensors of `sizes` bytes each,
  // filled with their index + 1.
  void write_st(const std::string& name, const std::vector<std::pair<std::string, int64_t>>& tensors) {
    fs::create_directories(fs::path(path(name)).parent_path());
    std::vector<TensorSpec> specs;
    for (const auto& [n, size] : tensors) specs.push_back({n, DType::U8, {size}});
    SafetensorsWriter w(path(name), specs);
    for (size_t i = 0; i < tensors.size(); ++i) {
      const std::vector<uint8_t> bytes(size_t(tensors[i].second), uint8_t(i + 1));
      w.write(tensors[i].first, bytes.data(), bytes.size());
    }
    w.finish();
  }
  // Writes model/ with two shards and an index naming them.
  void write_sharded(const std::string& weight_map) {
    write_st("model/model-00001-of-00002.safetensors", {{"a", 2}, {"b", 3}});
    write_st("model/model-00002-of-00002.safetensors", {{"c", 4}});
    write_text("model/config.json", R"({"model_type": "llama"})");
    write_text("model/model.safetensors.index.json",
               R"({"metadata": {"total_size": 9}, "weight_map": )" + weight_map + "}");
  }

  void expect_error(const std::string& open_path, std::initializer_list<std::string> parts) {
    try {
      open_checkpoint(open_path);
      ADD_FAILURE() << "no error for " << open_path;
    } catch (const Error& e) {
      const std::string msg = e.what();
      for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
    }
  }

};

constexpr const char* kGoodMap =
    R"({"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",)"
    R"( "c": "model-00002-of-00002.safetensors"})";

TEST_F(Checkpoint, BareFileWithoutConfig) {
  const std::string file = path("w.safetensors");
  {
    SafetensorsWriter w(file, {{"h", DType::F16, {2}}, {"i", DType::I32, {1}}});
    const uint16_t h[2] = {f32_to_f16(1.5f), f32_to_f16(-0.25f)};
    const int32_t i = 7;
    w.write("h", h, sizeof h);
    w.write("i", &i, sizeof i);
    w.finish();
  }
  auto ckpt = open_checkpoint(file);
  EXPECT_EQ(ckpt->path(), file);
  EXPECT_TRUE(ckpt->config().is_object());
  EXPECT_TRUE(ckpt->config().empty());
  ASSERT_EQ(ckpt->tensors().size(), 2u);
  const TensorInfo& h = ckpt->info("h");
  EXPECT_EQ(h.shape, Shape({2}));
  EXPECT_EQ(h.dtype, DType::F16);
  EXPECT_EQ(h.stored_type, "F16");
  EXPECT_EQ(h.stored_bytes, 4u);
  EXPECT_EQ(ckpt->read_f32("h"), std::vector<float>({1.5f, -0.25f}));
  ASSERT_TRUE(ckpt->view("i").has_value());
  EXPECT_EQ(*static_cast<const int32_t*>(ckpt->view("i")->data), 7);
  try {
    ckpt->read_f32("i");
    ADD_FAILURE() << "read_f32 of I32 did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor i is I32"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
  }
  EXPECT_THROW(ckpt->info("nope"), Error);
  EXPECT_THROW(ckpt->view("nope"), Error);
  EXPECT_THROW(ckpt->read_f32("nope"), Error);
}

TEST_F(Checkpoint, DirectoryWithConfigAndSideFiles) {
  write_st("m/model.safetensors", {{"x", 3}});
  write_text("m/config.json", R"({"model_type": "bert", "hidden_size": 384})");
  write_text("m/tokenizer.json", "{}");
  write_text("m/vocab.txt", "a\n");
  write_text("m/README.md", "not a side file");
  auto ckpt = open_checkpoint(path("m"));
  EXPECT_EQ(ckpt->config()["hidden_size"], 384);
  auto side = ckpt->side_files();
  std::sort(side.begin(), side.end());
  EXPECT_EQ(side, std::vector<std::string>({path("m/tokenizer.json"), path("m/vocab.txt")}));
  EXPECT_EQ(ckpt->tensors()[0].name, "x");
}

TEST_F(Checkpoint, DirectoryConfigErrors) {
  write_st("m/model.safetensors", {{"x", 3}});
  expect_error(path("m"), {path("m/config.json") + ": missing"});
  write_text("m/config.json", R"({"model_type": )");
  expect_error(path("m"), {path("m/config.json"), "invalid JSON"});
  write_text("m/config.json", "[1]");
  expect_error(path("m"), {path("m/config.json"), "expected an object"});
  // A bare file next to a broken config.json is still refused: the config is
  // there but unreadable.
  expect_error(path("m/model.safetensors"), {path("m/config.json"), "expected an object"});
}

TEST_F(Checkpoint, MissingPathsAndEmptyDirectory) {
  expect_error(path("nope"), {path("nope"), "does not exist"});
  fs::create_directories(path("empty"));
  expect_error(path("empty"), {path("empty"), "no model.safetensors"});
}

TEST_F(Checkpoint, DirectoryWithSeveralGgufFiles) {
  write_text("g/a.gguf", "x");
  write_text("g/b.gguf", "x");
  expect_error(path("g"), {path("g"), "2 .gguf files", "a.gguf, b.gguf"});
}

// A .gguf file, or a directory holding exactly one, goes to the GGUF reader:
// its error for a non-GGUF file names that file.
TEST_F(Checkpoint, GgufDispatch) {
  write_text("g/only.gguf", "this is not a GGUF file at all");
  write_text("g/config.json", "{}");
  expect_error(path("g"), {path("g/only.gguf")});
  expect_error(path("g/only.gguf"), {path("g/only.gguf")});
}

TEST_F(Checkpoint, GgufNextToSafetensorsIsIgnored) {
  write_st("m/model.safetensors", {{"x", 3}});
  write_text("m/config.json", "{}");
  write_text("m/model.gguf", "not read");
  EXPECT_EQ(open_checkpoint(path("m"))->tensors().size(), 1u);
}

TEST_F(Checkpoint, ShardedIndex) {
  write_sharded(kGoodMap);
  for (const std::string& p : {path("model"), path("model/model.safetensors.index.json")}) {
    auto ckpt = open_checkpoint(p);
    ASSERT_EQ(ckpt->tensors().size(), 3u);
    EXPECT_EQ(ckpt->tensors()[0].name, "a");
    EXPECT_EQ(ckpt->tensors()[2].name, "c");
    EXPECT_EQ(ckpt->info("c").stored_bytes, 4u);
    EXPECT_EQ(static_cast<const uint8_t*>(ckpt->view("c")->data)[3], 1);
    EXPECT_EQ(static_cast<const uint8_t*>(ckpt->view("b")->data)[0], 2);
    EXPECT_EQ(ckpt->config()["model_type"], "llama");
  }
}

TEST_F(Checkpoint, IndexErrorsNameTheIndexFile) {
  const std::string index = path("model/model.safetensors.index.json");
  write_sharded(R"({"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",)"
                R"( "c": "model-00003-of-00002.safetensors"})");
  expect_error(path("model"), {index, "shard model-00003-of-00002.safetensors", "does not exist"});

  write_sharded(R"({"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors",)"
                R"( "c": "model-00002-of-00002.safetensors"})");
  expect_error(path("model"), {index, "tensor b is mapped to shard model-00002-of-00002.safetensors",
                               "stored in model-00001-of-00002.safetensors"});

  write_sharded(R"({"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",)"
                R"( "c": "model-00002-of-00002.safetensors", "d": "model-00002-of-00002.safetensors"})");
  expect_error(path("model"), {index, "tensor d", "does not contain it"});

  write_sharded(R"({"a": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"})");
  expect_error(path("model"), {index, "tensor b", "not listed in weight_map"});

  write_sharded(R"({"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",)"
                R"( "c": "model-00002-of-00002.safetensors"})");
  write_st("model/model-00002-of-00002.safetensors", {{"c", 4}, {"a", 2}});
  expect_error(path("model"), {index, "tensor a is stored in two shards"});

  write_sharded(R"({"a": "../outside.safetensors"})");
  expect_error(path("model"), {index, "not a file name inside"});
  write_sharded(R"({"a": 3})");
  expect_error(path("model"), {index, "tensor a is a JSON number"});
  write_sharded("[]");
  expect_error(path("model"), {index, "\"weight_map\" is a JSON array"});
  write_text("model/model.safetensors.index.json", "{}");
  expect_error(path("model"), {index, "missing \"weight_map\""});
  write_text("model/model.safetensors.index.json", "{,}");
  expect_error(path("model"), {index, "invalid JSON"});
}

TEST_F(Checkpoint, CorruptShardErrorNamesTheShard) {
  write_sharded(kGoodMap);
  write_text("model/model-00002-of-00002.safetensors", "abc");
  expect_error(path("model"), {path("model/model-00002-of-00002.safetensors"), "too short"});
}

}  // namespace
}  // namespace wquant
