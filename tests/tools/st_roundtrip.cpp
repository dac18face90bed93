// st_roundtrip: drives SafetensorsFile / SafetensorsWriter for the Python
// oracle test (tests/python/test_safetensors_oracle.py).
//
//   st_roundtrip copy IN OUT   reads IN, writes every tensor (file order) and
//                              the metadata to OUT
//   st_roundtrip copy-reversed IN OUT
//                              the same in reverse order: tensors the original
//                              writer aligned may end up unaligned (legal)
//   st_roundtrip dump IN       prints {"metadata": {..}, "tensors": [{"name",
//                              "dtype", "shape", "checksum"}, ..]} as JSON
//
// checksum = sum over the tensor's bytes b[i] * (i % 251 + 1), mod 2^64: cheap
// to compute with numpy and sensitive to both values and positions.
// Errors print one line to stderr and exit 1.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "wquant/core/error.h"
#include "wquant/io/safetensors.h"

namespace {

uint64_t checksum(const wquant::TensorView& v) {
  const auto* p = static_cast<const uint8_t*>(v.data);
  uint64_t sum = 0;
  for (size_t i = 0, n = v.nbytes(); i < n; ++i) sum += uint64_t(p[i]) * (i % 251 + 1);
  return sum;
}

void copy(const std::string& in, const std::string& out, bool reversed) {
  const wquant::SafetensorsFile file(in);
  std::vector<wquant::SafetensorsEntry> entries = file.entries();
  if (reversed) std::reverse(entries.begin(), entries.end());
  std::vector<wquant::TensorSpec> specs;
  for (const auto& e : entries) specs.push_back({e.name, e.dtype, e.shape});
  wquant::SafetensorsWriter writer(out, specs, file.metadata());
  for (const auto& e : entries) {
    const wquant::TensorView v = file.view(e.name);
    writer.write(e.name, v.data, v.nbytes());
  }
  writer.finish();
}

void dump(const std::string& in) {
  const wquant::SafetensorsFile file(in);
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& e : file.entries())
    tensors.push_back({{"name", e.name},
                       {"dtype", std::string(wquant::dtype_name(e.dtype))},
                       {"shape", e.shape},
                       {"checksum", checksum(file.view(e.name))}});
  const nlohmann::json out = {{"metadata", file.metadata()}, {"tensors", tensors}};
  std::cout << out.dump() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if ((cmd == "copy" || cmd == "copy-reversed") && argc == 4) {
      copy(argv[2], argv[3], cmd == "copy-reversed");
    } else if (cmd == "dump" && argc == 3) {
      dump(argv[2]);
    } else {
      std::fprintf(stderr, "usage: st_roundtrip copy|copy-reversed IN OUT | st_roundtrip dump IN\n");
      return 2;
    }
  } catch (const wquant::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
