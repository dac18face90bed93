// Temporary files for the tokenizer tests: a directory removed at the end of
// each test, and writers for tokenizer.json and GGUF tokenizer metadata.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wquant::testing {

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "wquant-tok-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `text` to dir/name and returns the path.
  std::string write(const std::string& name, const std::string& text) const {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string write_json(const nlohmann::json& j,
                         const std::string& name = "tokenizer.json") const {
    return write(name, j.dump());
  }

  std::filesystem::path dir_;
};

// A GGUF v3 file with no tensors and the given metadata, built byte by byte
// (little-endian: key as u64 length + bytes, u32 value type, value).
class GgufMetadataWriter {
 public:
  GgufMetadataWriter& str(const std::string& key, const std::string& v) {
    key_(key, 8);
    string_(v);
    ++count_;
    return *this;
  }
  GgufMetadataWriter& u32(const std::string& key, uint32_t v) {
    key_(key, 4);
    put(v);
    ++count_;
    return *this;
  }
  GgufMetadataWriter& u64(const std::string& key, uint64_t v) {
    key_(key, 10);
    put(v);
    ++count_;
    return *this;
  }
  GgufMetadataWriter& f32s(const std::string& key, const std::vector<float>& v) {
    key_(key, 9);
    put(uint32_t(6));
    put(uint64_t(v.size()));
    for (float x : v) put(x);
    ++count_;
    return *this;
  }
  GgufMetadataWriter& flag(const std::string& key, bool v) {
    key_(key, 7);
    put(uint8_t(v));
    ++count_;
    return *this;
  }
  GgufMetadataWriter& strings(const std::string& key, const std::vector<std::string>& v) {
    key_(key, 9);
    put(uint32_t(8));
    put(uint64_t(v.size()));
    for (const auto& s : v) string_(s);
    ++count_;
    return *this;
  }
  GgufMetadataWriter& i32s(const std::string& key, const std::vector<int32_t>& v) {
    key_(key, 9);
    put(uint32_t(5));
    put(uint64_t(v.size()));
    for (int32_t x : v) put(x);
    ++count_;
    return *this;
  }
  void save(const std::string& path) const {
    std::string out = "GGUF";
    auto append = [&](auto v) { out.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
    append(uint32_t(3));
    append(uint64_t(0));  // tensors
    append(uint64_t(count_));
    out += body_;
    std::ofstream(path, std::ios::binary) << out;
  }

 private:
  template <class T>
  void put(T v) {
    body_.append(reinterpret_cast<const char*>(&v), sizeof(v));
  }
  void string_(const std::string& s) {
    put(uint64_t(s.size()));
    body_ += s;
  }
  void key_(const std::string& key, uint32_t type) {
    string_(key);
    put(type);
  }
  std::string body_;
  uint64_t count_ = 0;
};

}  // namespace wquant::testing
