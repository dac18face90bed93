// SafetensorsFile validation: each test builds a file byte by byte (8-byte
// little-endian header length, JSON header, data) and checks that the
// reader's Error names the file and the specific problem.
#include <gtest/gtest.h>

#include "temp_dir_test.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "wquant/core/error.h"
#include "wquant/io/safetensors.h"

namespace wquant {
namespace {
namespace fs = std::filesystem;

class SafetensorsRead : public testing::TempDirTest {
 protected:

  // Writes `bytes` to a new file in the temp dir and returns its path.
  std::string write_raw(const std::string& bytes) {
    const std::string path = (dir_ / cat("t", ++count_, ".safetensors")).string();
    std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    return path;
  }
  // Writes u64le(len) + header + data, with len given explicitly.
  std::string write_with_length(uint64_t len, const std::string& header,
                                const std::string& data = "") {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = char((len >> (8 * i)) & 0xff);
    return write_raw(bytes + header + data);
  }
  std::string write_file(const std::string& header, const std::string& data = "") {
    return write_with_length(header.size(), header, data);
  }

  // Opens `path`, expecting an Error whose message has the path and every
  // one of `parts`.
  void expect_error(const std::string& path, std::initializer_list<std::string> parts) {
    try {
      SafetensorsFile f(path);
      ADD_FAILURE() << "no error for " << path;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(path), std::string::npos) << msg;
      for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
    }
  }

  int count_ = 0;
};

TEST_F(SafetensorsRead, ValidFileIsParsedInOffsetOrder) {
  // b is listed first but stored second.
  const std::string header =
      R"({"b": {"dtype": "I16", "shape": [2], "data_offsets": [8, 12]},)"
      R"( "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
      R"( "__metadata__": {"format": "pt"}})";
  float a[2] = {1.5f, -2.0f};
  int16_t b[2] = {7, -9};
  std::string data(12, '\0');
  std::memcpy(data.data(), a, 8);
  std::memcpy(data.data() + 8, b, 4);
  SafetensorsFile f(write_file(header, data));
  ASSERT_EQ(f.entries().size(), 2u);
  EXPECT_EQ(f.entries()[0].name, "a");
  EXPECT_EQ(f.entries()[1].name, "b");
  EXPECT_EQ(f.metadata().at("format"), "pt");
  const TensorView va = f.view("a");
  EXPECT_EQ(va.dtype, DType::F32);
  EXPECT_EQ(va.shape, Shape({2}));
  // This hand-built header is not padded, so the views are unaligned: memcpy.
  float a1 = 0;
  int16_t b1 = 0;
  std::memcpy(&a1, static_cast<const char*>(va.data) + 4, 4);
  std::memcpy(&b1, static_cast<const char*>(f.view("b").data) + 2, 2);
  EXPECT_EQ(a1, -2.0f);
  EXPECT_EQ(b1, -9);
  EXPECT_EQ(f.find("missing"), nullptr);
  EXPECT_THROW(f.view("missing"), Error);
}

TEST_F(SafetensorsRead, EmptyHeaderAndZeroSizeTensorsAreFine) {
  EXPECT_TRUE(SafetensorsFile(write_file("{}")).entries().empty());
  // Zero-size tensors occupy no bytes; they may sit at any offset, even inside
  // another tensor's range or at the very end.
  const std::string header =
      R"({"x": {"dtype": "F32", "shape": [0, 4], "data_offsets": [0, 0]},)"
      R"( "y": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
      R"( "z": {"dtype": "BF16", "shape": [3, 0], "data_offsets": [2, 2]},)"
      R"( "w": {"dtype": "I64", "shape": [0], "data_offsets": [4, 4]}})";
  SafetensorsFile f(write_file(header, "abcd"));
  EXPECT_EQ(f.entries().size(), 4u);
  EXPECT_EQ(f.view("x").numel(), 0);
  EXPECT_EQ(f.view("w").nbytes(), 0u);
}

TEST_F(SafetensorsRead, ScalarHasOneElement) {
  SafetensorsFile f(write_file(R"({"s": {"dtype": "F64", "shape": [], "data_offsets": [0, 8]}})",
                               std::string(8, '\0')));
  EXPECT_EQ(f.view("s").numel(), 1);
}

TEST_F(SafetensorsRead, MissingFile) {
  const std::string path = (dir_ / "nope.safetensors").string();
  expect_error(path, {"cannot open"});
}

TEST_F(SafetensorsRead, FileShorterThan8Bytes) {
  expect_error(write_raw(""), {"0 bytes", "too short"});
  expect_error(write_raw(std::string("\x02\0\0\0\0", 5)), {"5 bytes", "too short"});
}

TEST_F(SafetensorsRead, HeaderLengthPastEndOfFile) {
  expect_error(write_with_length(100, "{}"), {"header length 100", "past the end", "10 bytes"});
}

TEST_F(SafetensorsRead, OversizedHeader) {
  expect_error(write_with_length(200'000'000, "{}"), {"oversized header", "200000000"});
  expect_error(write_with_length(~uint64_t(0), "{}"), {"oversized header"});
}

TEST_F(SafetensorsRead, InvalidJson) {
  expect_error(write_file(R"({"a": )"), {"not valid JSON"});
  expect_error(write_file(""), {"not valid JSON"});
  expect_error(write_file("{}garbage"), {"not valid JSON"});
}

TEST_F(SafetensorsRead, HeaderNotAnObject) {
  expect_error(write_file("[1, 2]"), {"header is a JSON array", "expected an object"});
  expect_error(write_file("\"x\""), {"header is a JSON string"});
}

TEST_F(SafetensorsRead, DuplicateTensorName) {
  expect_error(write_file(R"({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},)"
                          R"( "a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}})",
                          "xy"),
               {"tensor a", "appears twice"});
}

TEST_F(SafetensorsRead, MissingFields) {
  expect_error(write_file(R"({"w": {"shape": [1], "data_offsets": [0, 1]}})", "x"),
               {"tensor w", "missing \"dtype\""});
  expect_error(write_file(R"({"w": {"dtype": "U8", "data_offsets": [0, 1]}})", "x"),
               {"tensor w", "missing \"shape\""});
  expect_error(write_file(R"({"w": {"dtype": "U8", "shape": [1]}})", "x"),
               {"tensor w", "missing \"data_offsets\""});
}

TEST_F(SafetensorsRead, WrongJsonTypes) {
  expect_error(write_file(R"({"w": 3})"), {"tensor w", "entry is a JSON number"});
  expect_error(write_file(R"({"w": {"dtype": 7, "shape": [1], "data_offsets": [0, 1]}})", "x"),
               {"tensor w", "\"dtype\" is a JSON number", "expected a string"});
  expect_error(write_file(R"({"w": {"dtype": "U8", "shape": "1", "data_offsets": [0, 1]}})", "x"),
               {"tensor w", "\"shape\" is a JSON string", "expected an array"});
  expect_error(write_file(R"({"w": {"dtype": "U8", "shape": [1.5], "data_offsets": [0, 1]}})", "x"),
               {"tensor w", "shape value 1.5", "not a non-negative integer"});
  expect_error(write_file(R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": {"a": 0}}})", "x"),
               {"tensor w", "\"data_offsets\" is a JSON object"});
  expect_error(write_file(R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": ["0", 1]}})", "x"),
               {"tensor w", "data_offsets value \"0\""});
  expect_error(write_file(R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1, 2]}})", "xy"),
               {"tensor w", "data_offsets has 3 values"});
}

TEST_F(SafetensorsRead, UnknownDtype) {
  expect_error(write_file(R"({"w": {"dtype": "F8_E9", "shape": [1], "data_offsets": [0, 1]}})", "x"),
               {"tensor w", "unknown dtype \"F8_E9\""});
}

TEST_F(SafetensorsRead, NegativeDimension) {
  expect_error(write_file(R"({"w": {"dtype": "U8", "shape": [2, -1], "data_offsets": [0, 1]}})", "x"),
               {"tensor w", "shape value -1 is negative"});
  expect_error(write_file(R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": [-1, 1]}})", "x"),
               {"tensor w", "data_offsets value -1 is negative"});
}

TEST_F(SafetensorsRead, BeginAfterEnd) {
  expect_error(write_file(R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [8, 4]}})",
                          std::string(8, 'x')),
               {"tensor w", "begin 8 > end 4"});
}

TEST_F(SafetensorsRead, EndBeyondDataSection) {
  expect_error(write_file(R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})",
                          std::string(12, 'x')),
               {"tensor w", "end 16", "beyond the data section (12 bytes)"});
}

TEST_F(SafetensorsRead, ByteSizeMismatch) {
  expect_error(write_file(R"({"w": {"dtype": "F16", "shape": [3], "data_offsets": [0, 4]}})",
                          std::string(4, 'x')),
               {"tensor w", "span 4 bytes", "F16 [3] needs 6"});
}

TEST_F(SafetensorsRead, OverlappingTensors) {
  expect_error(write_file(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
                          R"( "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}})",
                          std::string(6, 'x')),
               {"tensors a [0, 4) and b [2, 6) overlap"});
  // The same range twice is an overlap too.
  expect_error(write_file(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
                          R"( "b": {"dtype": "I32", "shape": [1], "data_offsets": [0, 4]}})",
                          std::string(4, 'x')),
               {"overlap"});
}

TEST_F(SafetensorsRead, MetadataMustMapStringsToStrings) {
  expect_error(write_file(R"({"__metadata__": {"format": 1}})"),
               {"__metadata__ value for \"format\" is a JSON number"});
  expect_error(write_file(R"({"__metadata__": ["pt"]})"),
               {"__metadata__ is a JSON array", "object of strings"});
}

TEST_F(SafetensorsRead, NumelOverflow) {
  // 2^32 * 2^32 * 16 wraps to 0 in uint64: must not pass as a zero-size tensor.
  expect_error(write_file(R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 16],)"
                          R"( "data_offsets": [0, 0]}})"),
               {"tensor w", "overflows"});
  // numel fits uint64 but not int64.
  expect_error(write_file(R"({"w": {"dtype": "U8", "shape": [4294967296, 4294967296],)"
                          R"( "data_offsets": [0, 0]}})"),
               {"tensor w", "overflows"});
  expect_error(write_file(R"({"w": {"dtype": "U8", "shape": [18446744073709551615],)"
                          R"( "data_offsets": [0, 0]}})"),
               {"tensor w", "too large"});
}

// Every truncation and every single-byte corruption of a valid file either
// opens or throws Error: never a crash or another exception type.
TEST_F(SafetensorsRead, CorruptionsThrowErrorOnly) {
  const std::string header =
      R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
      R"( "b": {"dtype": "BF16", "shape": [1, 2], "data_offsets": [8, 12]}})";
  std::string valid(8, '\0');
  valid[0] = char(header.size());
  valid += header + std::string(12, '\x11');
  const std::string path = (dir_ / "fuzz.safetensors").string();
  auto try_open = [&](const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), std::streamsize(bytes.size()));
    try {
      SafetensorsFile f(path);
      for (const auto& e : f.entries()) f.view(e.name);
    } catch (const Error&) {
    }
  };
  for (size_t n = 0; n < valid.size(); ++n) try_open(valid.substr(0, n));
  for (size_t i = 0; i < valid.size() - 12; ++i)
    for (char c : {'\0', '9', '-', '"', '}', '\xff'}) {
      std::string bad = valid;
      bad[i] = c;
      try_open(bad);
    }
}

}  // namespace
}  // namespace wquant
