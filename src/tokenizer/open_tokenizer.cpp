// Finding the tokenizer that goes with a model path.
#include <filesystem>

#include "wquant/core/error.h"
#include "wquant/io/gguf.h"
#include "wquant/tokenizer/tokenizer.h"

namespace wquant {
namespace {

namespace fs = std::filesystem;

// Returns the GGUF file a model path names: the file itself, or the only
// *.gguf in a directory; empty if none.
std::string gguf_in(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return path.ends_with(".gguf") ? path : "";
  std::string found;
  for (const auto& e : fs::directory_iterator(path, ec))
    if (e.path().extension() == ".gguf") {
      if (!found.empty()) return "";
      found = e.path().string();
    }
  return found;
}

}  // namespace

std::unique_ptr<Tokenizer> open_tokenizer(const std::string& model, const std::string& tokenizer) {
  std::string path = tokenizer;
  if (path.empty()) {
    std::error_code ec;
    const fs::path dir = fs::is_directory(model, ec) ? fs::path(model) : fs::path(model).parent_path();
    if (fs::exists(dir / "tokenizer.json", ec)) path = (dir / "tokenizer.json").string();
    else path = gguf_in(model);
  }
  if (path.empty())
    fail(model, ": no tokenizer.json next to the model and no GGUF vocabulary; pass --tokenizer");
  if (path.ends_with(".gguf")) {
    const GgufFile gguf(path);
    return load_gguf_tokenizer(gguf);
  }
  return load_tokenizer_json(path);
}

}  // namespace wquant
