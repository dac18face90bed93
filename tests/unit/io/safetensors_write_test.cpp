// SafetensorsWriter: round trip through SafetensorsFile, header padding and
// alignment, and the errors for misuse and failed writes.
#include <gtest/gtest.h>

#include "temp_dir_test.h"
#include <sys/resource.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "wquant/core/error.h"
#include "wquant/io/safetensors.h"

namespace wquant {
namespace {
namespace fs = std::filesystem;

class SafetensorsWrite : public testing::TempDirTest {
 protected:

};

// Returns n bytes 0, 1, 2, ... (mod 256) starting at `seed`.
std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i);
  return v;
}

// Returns the header length stored in the first 8 bytes of `file`.
uint64_t header_length(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  uint8_t b[8] = {};
  in.read(reinterpret_cast<char*>(b), 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | b[i];
  return n;
}

template <class F>
void expect_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

TEST_F(SafetensorsWrite, RoundTrip) {
  const std::vector<TensorSpec> specs = {
      {"embed.weight", DType::F32, {2, 3}}, {"norm.bias", DType::BF16, {3}},
      {"ids", DType::I8, {5}},             {"empty", DType::U8, {0, 7}},
      {"scale", DType::F64, {}},           {"mask", DType::BOOL, {2}},
  };
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"quant", "int4 g128"}};
  const std::string file = path("rt.safetensors");
  std::vector<std::vector<uint8_t>> data;
  {
    SafetensorsWriter w(file, specs, metadata);
    for (size_t i = 0; i < specs.size(); ++i) {
      data.push_back(pattern(size_t(numel(specs[i].shape)) * dtype_size(specs[i].dtype), uint8_t(i * 40)));
      w.write(specs[i].name, data.back().data(), data.back().size());
    }
    w.finish();
  }

  SafetensorsFile f(file);
  EXPECT_EQ(f.metadata(), metadata);
  ASSERT_EQ(f.entries().size(), specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const auto& e = f.entries()[i];  // offset order == spec order
    EXPECT_EQ(e.name, specs[i].name);
    EXPECT_EQ(e.dtype, specs[i].dtype);
    EXPECT_EQ(e.shape, specs[i].shape);
    const TensorView v = f.view(e.name);
    ASSERT_EQ(v.nbytes(), data[i].size());
    if (!data[i].empty()) {
      EXPECT_EQ(std::memcmp(v.data, data[i].data(), data[i].size()), 0) << e.name;
    }
  }
  // Packed with no gaps: the file ends where the last tensor ends.
  EXPECT_EQ(fs::file_size(file), 8 + header_length(file) + f.entries().back().end);
  // The data section starts 8-aligned, so the first tensor's view is too.
  EXPECT_EQ((8 + header_length(file)) % 8, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f.view("embed.weight").data) % 8, 0u);
}

TEST_F(SafetensorsWrite, HeaderIsPaddedToMultipleOf8) {
  for (size_t len = 0; len < 16; ++len) {
    const std::string file = path(cat("pad", len, ".safetensors"));
    SafetensorsWriter w(file, {{"t", DType::U8, {1}}}, {{"k", std::string(len, 'v')}});
    const uint8_t byte = 42;
    w.write("t", &byte, 1);
    w.finish();
    EXPECT_EQ((8 + header_length(file)) % 8, 0u) << len;
    EXPECT_EQ(SafetensorsFile(file).metadata().at("k").size(), len);
  }
}

TEST_F(SafetensorsWrite, EmptyCheckpoint) {
  const std::string file = path("empty.safetensors");
  SafetensorsWriter w(file, {});
  w.finish();
  EXPECT_TRUE(SafetensorsFile(file).entries().empty());
}

TEST_F(SafetensorsWrite, DevFullReportsNoSpace) {
  // Linux's /dev/full fails every write with ENOSPC.
  expect_error([] { SafetensorsWriter w("/dev/full", {{"t", DType::F32, {4}}}); },
               {"/dev/full", "No space left"});
}

TEST_F(SafetensorsWrite, FailedTensorWriteNamesFileAndTensor) {
  // A file-size limit makes the kernel fail the tensor write (EFBIG) after
  // the header went through: the mid-stream failure path.
  const std::string file = path("limited.safetensors");
  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = old;
  lim.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  std::string message;
  try {
    SafetensorsWriter w(file, {{"big", DType::F32, {4096}}});
    const std::vector<float> data(4096, 1.0f);
    w.write("big", data.data(), data.size() * 4);
  } catch (const Error& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(message.find(file), std::string::npos) << message;
  EXPECT_NE(message.find("tensor big"), std::string::npos) << message;
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;
}

TEST_F(SafetensorsWrite, CannotCreate) {
  const std::string file = path("no/such/dir/x.safetensors");
  expect_error([&] { SafetensorsWriter w(file, {}); }, {file, "cannot create"});
}

TEST_F(SafetensorsWrite, WrongOrderOrSizeIsRejected) {
  const std::string file = path("misuse.safetensors");
  SafetensorsWriter w(file, {{"a", DType::F32, {2}}, {"b", DType::I32, {1}}});
  const std::vector<uint8_t> bytes(8, 0);
  expect_error([&] { w.write("b", bytes.data(), 4); }, {file, "tensor b out of order", "expected a"});
  expect_error([&] { w.write("a", bytes.data(), 4); }, {file, "got 4 bytes", "F32 [2] needs 8"});
  expect_error([&] { w.finish(); }, {file, "after 0 of 2", "next missing: a"});
  w.write("a", bytes.data(), 8);
  w.write("b", bytes.data(), 4);
  expect_error([&] { w.write("c", bytes.data(), 0); }, {file, "already written"});
  w.finish();
  expect_error([&] { w.finish(); }, {file, "closed"});
  EXPECT_EQ(SafetensorsFile(file).entries().size(), 2u);
}

TEST_F(SafetensorsWrite, BadSpecsAreRejected) {
  const std::string file = path("specs.safetensors");
  expect_error([&] { SafetensorsWriter w(file, {{"a", DType::U8, {1}}, {"a", DType::U8, {2}}}); },
               {file, "tensor a is listed twice"});
  expect_error([&] { SafetensorsWriter w(file, {{"a", DType::U8, {3, -1}}}); },
               {file, "tensor a", "negative dimension"});
  expect_error([&] { SafetensorsWriter w(file, {{"__metadata__", DType::U8, {1}}}); },
               {file, "__metadata__"});
  expect_error([&] { SafetensorsWriter w(file, {{"a", DType::F64, {int64_t(1) << 62, 8}}}); },
               {file, "too large"});
}

}  // namespace
}  // namespace wquant
