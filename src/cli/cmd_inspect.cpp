// wquant inspect PATH [--json]: what a checkpoint holds.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "commands.h"
#include "wquant/io/checkpoint.h"
#include "wquant/pipeline/report.h"

namespace wquant::cli {
namespace {

struct InspectArgs {
  std::string path;
  bool json = false;
};

int run_inspect(const InspectArgs& a) {
  const auto ckpt = open_checkpoint(a.path);
  const auto& config = ckpt->config();
  uint64_t total = 0;
  std::map<std::string, std::pair<size_t, uint64_t>> by_type;  // count, bytes
  for (const auto& t : ckpt->tensors()) {
    total += t.stored_bytes;
    by_type[t.stored_type].first++;
    by_type[t.stored_type].second += t.stored_bytes;
  }
  const std::string model_type = ckpt->model_type().empty() ? "(none)" : ckpt->model_type();
  const bool quantized = config.is_object() && config.contains("quantization_config");
  if (a.json) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const auto& t : ckpt->tensors())
      tensors.push_back({{"name", t.name}, {"type", t.stored_type}, {"shape", t.shape},
                         {"bytes", t.stored_bytes}});
    nlohmann::json out = {{"path", ckpt->path()}, {"model_type", model_type},
                          {"tensor_bytes", total}, {"tensors", tensors}};
    if (quantized) out["quantization_config"] = config["quantization_config"];
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  size_t name_w = 6;
  for (const auto& t : ckpt->tensors()) name_w = std::max(name_w, t.name.size());
  for (const auto& t : ckpt->tensors()) {
    std::string name = t.name;
    name.resize(std::max(name.size(), name_w), ' ');
    std::string type = t.stored_type;
    type.resize(std::max<size_t>(type.size(), 6), ' ');
    std::printf("%s  %s  %-16s %s\n", name.c_str(), type.c_str(), shape_str(t.shape).c_str(),
                human_bytes(t.stored_bytes).c_str());
  }
  std::printf("\npath        %s\nmodel_type  %s\ntensors     %zu, %s (%llu B)\n", ckpt->path().c_str(),
              model_type.c_str(), ckpt->tensors().size(), human_bytes(total).c_str(),
              static_cast<unsigned long long>(total));
  for (const auto& [type, cb] : by_type)
    std::printf("  %-8s  %4zu tensors  %s\n", type.c_str(), cb.first, human_bytes(cb.second).c_str());
  if (quantized) {
    const auto& q = config["quantization_config"];
    std::printf("quantization %s, format %s\n", q.value("quant_method", "?").c_str(),
                q.value("format", "?").c_str());
    if (q.contains("config_groups") && q["config_groups"].is_object()) {
      for (const auto& [name, g] : q["config_groups"].items()) {
        const auto& w = g.value("weights", nlohmann::json::object());
        std::printf("  %s: %zu layers, %d bits, %s, %s%s\n", name.c_str(),
                    g.value("targets", nlohmann::json::array()).size(), w.value("num_bits", 0),
                    w.value("strategy", "?").c_str(), w.value("symmetric", true) ? "sym" : "asym",
                    w.contains("group_size") && w["group_size"].is_number()
                        ? (" g" + std::to_string(w["group_size"].get<int64_t>())).c_str()
                        : "");
      }
    }
    if (q.contains("ignore")) std::printf("  ignore: %s\n", q["ignore"].dump().c_str());
  }
  return 0;
}

}  // namespace

Command add_inspect_command(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect", "List the tensors, types and sizes of a checkpoint.");
  cmd->add_option("path", args->path, "a .safetensors or .gguf file, or a model directory")->required();
  cmd->add_flag("--json", args->json, "print JSON");
  return [args]() { return run_inspect(*args); };
}

}  // namespace wquant::cli
