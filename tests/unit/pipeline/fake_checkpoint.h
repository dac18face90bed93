// An in-memory CheckpointReader for plan tests: names, shapes, a config.
#pragma once

#include <string>
#include <vector>

#include "wquant/core/error.h"
#include "wquant/io/checkpoint.h"

namespace wquant::testing {

class FakeCheckpoint : public CheckpointReader {
 public:
  FakeCheckpoint(std::string model_type, std::vector<std::pair<std::string, Shape>> tensors) {
    config_ = nlohmann::json::object();
    if (!model_type.empty()) config_["model_type"] = model_type;
    for (auto& [name, shape] : tensors) {
      TensorInfo info;
      info.name = name;
      info.shape = shape;
      info.dtype = DType::F32;
      info.stored_type = "F32";
      info.stored_bytes = uint64_t(numel(shape)) * 4;
      tensors_.push_back(info);
    }
  }
  const std::string& path() const override { return path_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  const nlohmann::json& config() const override { return config_; }
  nlohmann::json& mutable_config() { return config_; }
  std::optional<TensorView> view(const std::string&) const override { return std::nullopt; }
  std::vector<float> read_f32(const std::string& name) const override {
    fail("fake checkpoint has no data for ", name);
  }

 private:
  std::string path_ = "fake";
  std::vector<TensorInfo> tensors_;
  nlohmann::json config_;
};

}  // namespace wquant::testing
