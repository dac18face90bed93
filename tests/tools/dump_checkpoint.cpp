// dump_checkpoint IN OUT.safetensors
//
// Opens any checkpoint wquant reads (safetensors file or directory, GGUF) and
// writes every tensor, decoded to f32 with read_f32, into OUT.safetensors
// (same Hugging Face names and shapes, file order; integer tensors such as
// position_ids are copied in their own dtype), and the checkpoint's
// config.json as OUT.config.json. Python oracle tests compare the dump with
// an independent reader. Exits 1 with one line on stderr on failure.
#include <fstream>
#include <iostream>
#include <string>

#include "wquant/core/error.h"
#include "wquant/io/checkpoint.h"
#include "wquant/io/safetensors.h"

namespace {

// Returns "dir/model.config.json" for "dir/model.safetensors".
std::string config_path_for(const std::string& out) {
  const std::string suffix = ".safetensors";
  const bool has_suffix = out.size() >= suffix.size() &&
                          out.compare(out.size() - suffix.size(), suffix.size(), suffix) == 0;
  return (has_suffix ? out.substr(0, out.size() - suffix.size()) : out) + ".config.json";
}

void dump(const std::string& in, const std::string& out) {
  const auto reader = wquant::open_checkpoint(in);
  std::vector<wquant::TensorSpec> specs;
  for (const wquant::TensorInfo& t : reader->tensors()) {
    specs.push_back({t.name, wquant::is_float(t.dtype) ? wquant::DType::F32 : t.dtype, t.shape});
  }
  wquant::SafetensorsWriter writer(out, specs, {{"format", "pt"}});
  for (const wquant::TensorInfo& t : reader->tensors()) {
    if (wquant::is_float(t.dtype)) {
      const std::vector<float> values = reader->read_f32(t.name);
      writer.write(t.name, values.data(), values.size() * sizeof(float));
    } else {
      const auto view = reader->view(t.name);
      if (!view) {
        wquant::fail(in, ": tensor ", t.name, ": ", wquant::dtype_name(t.dtype), " has no view");
      }
      writer.write(t.name, view->data, view->nbytes());
    }
    reader->release(t.name);  // read once: keep resident memory to one tensor
  }
  writer.finish();

  const std::string config_path = config_path_for(out);
  std::ofstream config(config_path);
  config << reader->config().dump(2) << "\n";
  config.close();
  if (!config) wquant::fail(config_path, ": cannot write");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: dump_checkpoint IN OUT.safetensors\n";
    return 2;
  }
  try {
    dump(argv[1], argv[2]);
  } catch (const wquant::Error& e) {
    std::cerr << "dump_checkpoint: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
