// The safetensors CheckpointReader: one file, or the shards listed by a
// Hugging Face model.safetensors.index.json ({"weight_map": {tensor: shard}}).
// Every shard is mapped up front and the index is checked against the
// shards' own headers, so a bad index fails at open, not mid-conversion.
//
// config.json is optional when a file is given (a bare .safetensors is a
// useful test input) and required when a directory is given (a model
// directory without it cannot be converted into a loadable checkpoint).
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "wquant/core/error.h"
#include "wquant/io/checkpoint_formats.h"
#include "wquant/io/safetensors.h"

namespace wquant {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

// Files next to the weights that a converted checkpoint needs to be usable.
constexpr const char* kSideFiles[] = {
    "tokenizer.json",    "tokenizer_config.json",  "special_tokens_map.json",
    "vocab.txt",         "merges.txt",             "vocab.json",
    "generation_config.json", "added_tokens.json", "tokenizer.model",
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Returns the parsed JSON object in `path`. Throws Error naming the file if
// it cannot be read, is not JSON, or is not an object.
json read_json_object(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(path, ": read failed");
  json j;
  try {
    j = json::parse(text.str());
  } catch (const json::exception& e) {
    fail(path, ": invalid JSON: ", e.what());
  }
  if (!j.is_object()) fail(path, ": is a JSON ", j.type_name(), ", expected an object");
  return j;
}

// Returns config.json from `dir`; an empty object if absent and optional.
json read_config(const fs::path& dir, bool required) {
  const std::string config_path = (dir / "config.json").string();
  if (!fs::exists(config_path)) {
    if (required) fail(config_path, ": missing");
    return json::object();
  }
  return read_json_object(config_path);
}

// Returns the weight_map of an index file: tensor name -> shard file name.
std::map<std::string, std::string> read_weight_map(const std::string& index_path) {
  const json index = read_json_object(index_path);
  auto it = index.find("weight_map");
  if (it == index.end()) fail(index_path, ": missing \"weight_map\"");
  if (!it->is_object())
    fail(index_path, ": \"weight_map\" is a JSON ", it->type_name(), ", expected an object");
  std::map<std::string, std::string> map;
  for (const auto& [tensor, shard] : it->items()) {
    if (!shard.is_string())
      fail(index_path, ": weight_map entry for tensor ", tensor, " is a JSON ",
           shard.type_name(), ", expected a shard file name");
    const std::string name = shard.get<std::string>();
    const fs::path p(name);
    // Shards live in the index's directory; refuse paths that escape it.
    bool escapes = name.empty() || p.is_absolute();
    for (const auto& part : p) escapes = escapes || part == "..";
    if (escapes)
      fail(index_path, ": weight_map entry for tensor ", tensor, ": shard \"", name,
           "\" is not a file name inside the checkpoint directory");
    map[tensor] = name;
  }
  return map;
}

class SafetensorsCheckpoint : public CheckpointReader {
 public:
  SafetensorsCheckpoint(std::string path, fs::path dir, json config)
      : path_(std::move(path)), dir_(std::move(dir)), config_(std::move(config)) {}

  // Maps one file and lists its tensors in offset order.
  void add_file(const std::string& file) {
    shards_.push_back(std::make_unique<SafetensorsFile>(file));
    for (const auto& e : shards_.back()->entries()) add_tensor(*shards_.back(), e);
  }

  // Maps every shard named in the index and checks index and shards agree.
  void add_shards(const std::string& index_path) {
    const auto weight_map = read_weight_map(index_path);
    std::set<std::string> shard_names;
    for (const auto& [tensor, shard] : weight_map) {
      if (!fs::is_regular_file(dir_ / shard))
        fail(index_path, ": shard ", shard, " (holding tensor ", tensor, ") does not exist in ",
             dir_.string());
      shard_names.insert(shard);
    }
    std::unordered_map<std::string, std::string> found_in;  // tensor -> shard
    for (const auto& shard : shard_names) {
      shards_.push_back(std::make_unique<SafetensorsFile>((dir_ / shard).string()));
      for (const auto& e : shards_.back()->entries()) {
        auto [it, fresh] = found_in.emplace(e.name, shard);
        if (!fresh)
          fail(index_path, ": tensor ", e.name, " is stored in two shards: ", it->second,
               " and ", shard);
        auto listed = weight_map.find(e.name);
        if (listed == weight_map.end())
          fail(index_path, ": tensor ", e.name, " in shard ", shard,
               " is not listed in weight_map");
        add_tensor(*shards_.back(), e);
      }
    }
    for (const auto& [tensor, shard] : weight_map) {
      auto it = found_in.find(tensor);
      if (it == found_in.end())
        fail(index_path, ": tensor ", tensor, " is mapped to shard ", shard,
             " but that shard does not contain it");
      if (it->second != shard)
        fail(index_path, ": tensor ", tensor, " is mapped to shard ", shard,
             " but is stored in ", it->second);
    }
  }

  const std::string& path() const override { return path_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  const json& config() const override { return config_; }

  std::optional<TensorView> view(const std::string& name) const override {
    return lookup(name).view(name);
  }

  void release(const std::string& name) const override { lookup(name).release(name); }

  std::vector<float> read_f32(const std::string& name) const override {
    const SafetensorsFile& file = lookup(name);
    const TensorView v = file.view(name);
    if (!is_float(v.dtype))
      fail(file.path(), ": tensor ", name, " is ", dtype_name(v.dtype),
           ", not a float type: cannot read it as F32");
    return to_f32(v);
  }

  std::vector<std::string> side_files() const override {
    std::vector<std::string> out;
    for (const char* name : kSideFiles)
      if (fs::is_regular_file(dir_ / name)) out.push_back((dir_ / name).string());
    return out;
  }

 private:
  void add_tensor(const SafetensorsFile& file, const SafetensorsEntry& e) {
    if (!where_.emplace(e.name, &file).second)
      fail(file.path(), ": tensor ", e.name, " appears twice in the checkpoint");
    tensors_.push_back(TensorInfo{e.name, e.shape, e.dtype, std::string(dtype_name(e.dtype)),
                                  e.end - e.begin});
  }

  const SafetensorsFile& lookup(const std::string& name) const {
    auto it = where_.find(name);
    if (it == where_.end()) fail(path_, ": no tensor named ", name);
    return *it->second;
  }

  std::string path_;
  fs::path dir_;  // where config.json and the side files are looked up
  json config_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, const SafetensorsFile*> where_;
};

}  // namespace

std::unique_ptr<CheckpointReader> open_safetensors_checkpoint(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) fail(path, ": does not exist");

  if (!fs::is_directory(status)) {
    fs::path dir = fs::path(path).parent_path();
    if (dir.empty()) dir = ".";
    auto reader = std::make_unique<SafetensorsCheckpoint>(path, dir, read_config(dir, false));
    if (ends_with(path, ".index.json"))
      reader->add_shards(path);
    else
      reader->add_file(path);
    return reader;
  }

  const fs::path dir(path);
  const bool single = fs::exists(dir / kSingleFile);
  const bool sharded = fs::exists(dir / kIndexFile);
  if (!single && !sharded)
    fail(path, ": no ", kSingleFile, " or ", kIndexFile, " (and no single .gguf file)");
  auto reader = std::make_unique<SafetensorsCheckpoint>(path, dir, read_config(dir, true));
  // Like transformers, prefer the single file when both are present.
  if (single)
    reader->add_file((dir / kSingleFile).string());
  else
    reader->add_shards((dir / kIndexFile).string());
  return reader;
}

}  // namespace wquant
