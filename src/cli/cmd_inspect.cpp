// wquant inspect PATH [--json]: what a checkpoint holds.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <variant>

#include "commands.h"
#include "wquant/core/error.h"
#include "wquant/io/checkpoint.h"
#include "wquant/io/gguf.h"
#include "wquant/pipeline/report.h"

namespace wquant::cli {
namespace {

struct InspectArgs {
  std::string path;
  bool json = false;
};

bool is_gguf_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char magic[4] = {};
  const bool ok = std::fread(magic, 1, 4, f) == 4 && std::string(magic, 4) == "GGUF";
  std::fclose(f);
  return ok;
}

// A GGUF file that parses but that wquant cannot run or translate (another
// architecture, a tensor without a Hugging Face name): its own names, ggml
// types and metadata, and why it is not readable as a checkpoint.
int inspect_raw_gguf(const InspectArgs& a, const std::string& why) {
  const GgufFile g(a.path);
  const auto arch_it = g.metadata().find("general.architecture");
  const std::string arch = arch_it != g.metadata().end() && std::holds_alternative<std::string>(arch_it->second)
                               ? std::get<std::string>(arch_it->second) : "(none)";
  uint64_t total = 0;
  for (const auto& t : g.tensors()) total += t.nbytes;
  if (a.json) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const auto& t : g.tensors())
      tensors.push_back({{"name", printable(t.name)}, {"type", ggml_type_name(t.type)}, {"shape", t.shape()},
                         {"bytes", t.nbytes}});
    nlohmann::json out = {{"path", g.path()}, {"format", "gguf"}, {"architecture", printable(arch)},
                          {"gguf_version", g.version()}, {"metadata_keys", g.metadata().size()},
                          {"tensor_bytes", total}, {"tensors", tensors}, {"not_a_checkpoint", why}};
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  size_t name_w = 6;
  for (const auto& t : g.tensors()) name_w = std::max(name_w, printable(t.name).size());
  for (const auto& t : g.tensors()) {
    std::string name = printable(t.name);
    name.resize(name_w, ' ');
    std::printf("%s  %-7s %-16s %s\n", name.c_str(), ggml_type_name(t.type).c_str(), shape_str(t.shape()).c_str(),
                human_bytes(t.nbytes).c_str());
  }
  std::printf("\npath          %s\nformat        GGUF v%u, %zu metadata keys\narchitecture  %s\n"
              "tensors       %zu, %s\nnote          GGUF names as stored: %s\n",
              g.path().c_str(), g.version(), g.metadata().size(), printable(arch).c_str(), g.tensors().size(),
              human_bytes(total).c_str(), why.c_str());
  return 0;
}

int run_inspect(const InspectArgs& a) {
  std::unique_ptr<CheckpointReader> opened;
  try {
    opened = open_checkpoint(a.path);
  } catch (const Error& e) {
    if (!is_gguf_file(a.path)) throw;
    return inspect_raw_gguf(a, e.what());
  }
  const auto& ckpt = opened;
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
    auto field = [&](const char* key) {
      return q.is_object() && q.contains(key) && q[key].is_string() ? q[key].get<std::string>() : std::string("?");
    };
    std::printf("quantization %s, format %s\n", field("quant_method").c_str(), field("format").c_str());
    if (q.is_object() && q.contains("config_groups") && q["config_groups"].is_object()) {
      for (const auto& [name, g] : q["config_groups"].items()) {
        // As stored (a file may say anything): the target count and the weights' fields.
        const bool has_w = g.is_object() && g.contains("weights");
        std::printf("  %s: %zu targets, weights %s\n", name.c_str(),
                    g.is_object() && g.contains("targets") && g["targets"].is_array() ? g["targets"].size() : 0,
                    has_w ? g["weights"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str()
                          : "(none)");
      }
    }
    if (q.is_object() && q.contains("ignore"))
      std::printf("  ignore: %s\n", q["ignore"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
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
