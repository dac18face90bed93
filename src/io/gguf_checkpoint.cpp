// A GGUF file presented as a Hugging Face checkpoint: llama.cpp tensor names
// translated to Hugging Face names, the converter's value transforms undone
// (llama's Q/K row permutation, gemma's norm + 1), every tensor decoded to
// f32, and a config.json synthesised from the metadata. The per-architecture
// tables and the config are in gguf_architectures.cpp / gguf_config.cpp.
// For a file convert_hf_to_gguf.py wrote at f32 the tensors equal the Hugging
// Face original's bit for bit (gemma's norms: see Entry::norm_offset).
#include <map>
#include <string_view>

#include "gguf_architectures.h"
#include "wquant/core/error.h"
#include "wquant/io/checkpoint_formats.h"

namespace wquant {
namespace {

// Returns `in` ([rows, cols] row-major) with the rows of each of `heads` heads
// put back in Hugging Face order. A head has 2 * half rows; llama.cpp stores
// Hugging Face row (i * half + j) of a head, i in {0, 1}, j < half, as its
// row (2 * j + i).
std::vector<float> unpermute_rows(const std::vector<float>& in, int64_t rows, int64_t heads) {
  const int64_t cols = int64_t(in.size()) / rows;
  const int64_t half = rows / heads / 2;
  std::vector<float> out(in.size());
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < 2; ++i) {
      for (int64_t j = 0; j < half; ++j) {
        const int64_t hf_row = h * 2 * half + i * half + j;
        const int64_t gguf_row = h * 2 * half + 2 * j + i;
        std::copy_n(in.begin() + gguf_row * cols, cols, out.begin() + hf_row * cols);
      }
    }
  }
  return out;
}

class GgufCheckpoint : public CheckpointReader {
 public:
  explicit GgufCheckpoint(const std::string& path)
      : file_(path), arch_(find_gguf_architecture(file_)), config_(make_hf_config(file_, arch_)) {
    check_required_tensors(file_, arch_, config_["num_hidden_layers"].get<int64_t>());
    for (size_t i = 0; i < file_.tensors().size(); ++i) {
      const GgufTensorInfo& t = file_.tensors()[i];
      const std::string name = hf_tensor_name(arch_, t.name);
      if (name.empty()) {
        fail(path, ": tensor '", printable(t.name),
             "' has no Hugging Face equivalent for architecture '", arch_.gguf_name, "'");
      }
      if (!index_.emplace(name, entries_.size()).second) {
        fail(path, ": two tensors map to '", name, "'");
      }
      entries_.push_back(make_entry(i));
      infos_.push_back({name, t.shape(), DType::F32, ggml_type_name(t.type), t.nbytes});
    }
  }

  const std::string& path() const override { return file_.path(); }
  const std::vector<TensorInfo>& tensors() const override { return infos_; }
  const nlohmann::json& config() const override { return config_; }
  const GgufFile* gguf() const override { return &file_; }

  std::optional<TensorView> view(const std::string& name) const override {
    const Entry& e = entry(name);
    const GgufTensorInfo& t = file_.tensors()[e.gguf_index];
    const uint8_t* data = file_.raw(t);
    if (GgmlType(t.type) != GgmlType::F32 || e.permute_heads > 0 || e.norm_offset != 0 ||
        reinterpret_cast<uintptr_t>(data) % alignof(float) != 0) {
      return std::nullopt;
    }
    return TensorView{DType::F32, t.shape(), data};
  }

  void release(const std::string& name) const override {
    file_.release(file_.tensors()[entry(name).gguf_index]);
  }

  std::vector<float> read_f32(const std::string& name) const override {
    const Entry& e = entry(name);
    const GgufTensorInfo& t = file_.tensors()[e.gguf_index];
    std::vector<float> values = file_.dequantize(t);
    if (e.norm_offset != 0) {
      for (float& v : values) v -= e.norm_offset;
    }
    if (e.permute_heads == 0) return values;
    return unpermute_rows(values, t.shape()[0], e.permute_heads);
  }

 private:
  struct Entry {
    size_t gguf_index;      // into file_.tensors()
    int64_t permute_heads;  // 0: stored in Hugging Face layout
    // Subtracted from every value (gemma's norms: 1). The converter rounded
    // s = w + 1 to f32, so s - 1 is w itself only when that sum was exact and
    // w >= -0.5 (w = 0 as Hugging Face initialises them; a trained w loses
    // its bits below 2^-23 of s). Either way wquant's gemma, adding the 1
    // back at load, runs on s itself for s >= 0.5 (both steps exact there),
    // as llama.cpp does.
    float norm_offset;
  };

  // Returns how tensor `index` is turned back into its Hugging Face values.
  Entry make_entry(size_t index) const {
    const GgufTensorInfo& t = file_.tensors()[index];
    int64_t permute_heads = 0;
    if (arch_.permuted_qk) {
      if (t.name.find(".attn_q.") != std::string::npos) {
        permute_heads = config_["num_attention_heads"].get<int64_t>();
      }
      if (t.name.find(".attn_k.") != std::string::npos) {
        permute_heads = config_["num_key_value_heads"].get<int64_t>();
      }
    }
    const Shape shape = t.shape();
    if (permute_heads > 0 && (shape.empty() || shape[0] % (2 * permute_heads) != 0)) {
      fail(file_.path(), ": tensor '", t.name, "' ", shape_str(shape), ": rows are not ",
           permute_heads, " heads of an even size");
    }
    const float offset = t.name.ends_with("norm.weight") ? arch_.norm_offset : 0.0f;
    return {index, permute_heads, offset};
  }

  const Entry& entry(const std::string& name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) fail(file_.path(), ": no tensor named '", name, "'");
    return entries_[it->second];
  }

  GgufFile file_;
  const GgufArchitecture& arch_;
  nlohmann::json config_;
  std::vector<Entry> entries_;
  std::vector<TensorInfo> infos_;
  std::map<std::string, size_t> index_;
};

}  // namespace

std::unique_ptr<CheckpointReader> open_gguf_checkpoint(const std::string& path) {
  return std::make_unique<GgufCheckpoint>(path);
}

}  // namespace wquant
