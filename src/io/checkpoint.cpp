// open_checkpoint: picks the format reader from the path. GGUF is chosen by
// the file extension, or for a directory holding exactly one *.gguf file and
// no safetensors; everything else goes to the safetensors reader, whose
// errors say what it looked for.
#include "wquant/io/checkpoint.h"

#include <algorithm>
#include <filesystem>

#include "wquant/core/error.h"
#include "wquant/io/checkpoint_formats.h"

namespace wquant {
namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Returns the names of the *.gguf files in `dir` (sorted), and sets
// `has_safetensors` if any *.safetensors or safetensors index file is there.
std::vector<std::string> gguf_files_in(const std::string& dir, bool& has_safetensors) {
  std::vector<std::string> gguf;
  has_safetensors = false;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (ends_with(name, ".safetensors") || ends_with(name, ".safetensors.index.json"))
      has_safetensors = true;
    else if (ends_with(name, ".gguf"))
      gguf.push_back(name);
  }
  if (ec) fail(dir, ": cannot list directory: ", ec.message());
  std::sort(gguf.begin(), gguf.end());
  return gguf;
}

}  // namespace

const TensorInfo& CheckpointReader::info(const std::string& name) const {
  for (const auto& t : tensors())
    if (t.name == name) return t;
  fail(path(), ": no tensor named ", name);
}

bool CheckpointReader::has(const std::string& name) const {
  for (const auto& t : tensors())
    if (t.name == name) return true;
  return false;
}

std::string CheckpointReader::model_type() const {
  const auto& c = config();
  return c.is_object() && c.contains("model_type") && c["model_type"].is_string() ? c["model_type"].get<std::string>()
                                                                                   : "";
}

std::unique_ptr<CheckpointReader> open_checkpoint(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) fail(path, ": does not exist");
  if (!fs::is_directory(status)) {
    if (ends_with(path, ".gguf")) return open_gguf_checkpoint(path);
    return open_safetensors_checkpoint(path);
  }

  bool has_safetensors = false;
  const auto gguf = gguf_files_in(path, has_safetensors);
  if (!has_safetensors && gguf.size() == 1)
    return open_gguf_checkpoint((fs::path(path) / gguf[0]).string());
  if (!has_safetensors && gguf.size() > 1) {
    std::string names;
    for (const auto& g : gguf) names += (names.empty() ? "" : ", ") + g;
    fail(path, ": holds ", gguf.size(), " .gguf files (", names,
         "); pass the one to open");
  }
  return open_safetensors_checkpoint(path);
}

}  // namespace wquant
