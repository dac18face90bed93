// gptq_tool: drives wquant's GPTQ for the Python oracle test
// (tests/python/test_gptq_oracle.py).
//
//   gptq_tool W.f32 H.f64 ROWS COLS BITS GROUP SYM ACT_ORDER BLOCK OUT_PREFIX
//
// W.f32: raw little-endian float32 [ROWS, COLS]; H.f64: raw little-endian
// float64 [COLS, COLS]. The grid is quantize()'s round-to-nearest grid of W
// (F32 scales; GROUP 0 = per output channel, else groups of GROUP columns;
// SYM 1 = symmetric, 0 = asymmetric); gptq_factor(H) (damp 0.01, ACT_ORDER
// 1/0) and gptq_rows over all rows with BLOCK-column blocks then replace its
// integers. Writes OUT_PREFIX.q.i8 (int8 [ROWS, COLS]), OUT_PREFIX.scales.f32
// (the grid's scales, [ROWS, 1] or [ROWS, groups]) and, if asymmetric,
// OUT_PREFIX.zp.i8 (same shape), and prints
//   {"damp_percent": d, "ok": true, "relative_output_error": e}
// (when H is not positive definite even after the damping retries:
// {"damp_percent": null, "ok": false, "relative_output_error": null}, no
// files). Errors print one line to stderr and exit 1.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wquant/core/error.h"
#include "wquant/quant/gptq.h"
#include "wquant/quant/quantize.h"
#include "wquant/quant/scheme.h"

namespace {

int64_t parse_int(const char* text, const char* what) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0') wquant::fail("gptq_tool: ", what, " '", text, "' is not an integer");
  return v;
}

template <class T>
std::vector<T> read_raw(const std::string& path, size_t count) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) wquant::fail("gptq_tool: cannot open ", path);
  const std::streamoff size = in.tellg();
  if (size != std::streamoff(count * sizeof(T)))
    wquant::fail("gptq_tool: ", path, " has ", size, " bytes, expected ", count * sizeof(T));
  std::vector<T> out(count);
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(out.data()), std::streamsize(count * sizeof(T))))
    wquant::fail("gptq_tool: cannot read ", path);
  return out;
}

template <class T>
void write_raw(const std::string& path, const std::vector<T>& v) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(T)));
  if (!out) wquant::fail("gptq_tool: cannot write ", path);
}

void run(char** argv) {
  const int64_t rows = parse_int(argv[3], "ROWS"), cols = parse_int(argv[4], "COLS");
  const int64_t bits = parse_int(argv[5], "BITS"), group = parse_int(argv[6], "GROUP");
  const int64_t sym = parse_int(argv[7], "SYM"), act_order = parse_int(argv[8], "ACT_ORDER");
  const int64_t block = parse_int(argv[9], "BLOCK");
  const std::string prefix = argv[10];
  if (rows <= 0 || cols <= 0) wquant::fail("gptq_tool: shape [", rows, ", ", cols, "]");
  const std::vector<float> w = read_raw<float>(argv[1], size_t(rows * cols));
  const std::vector<double> h = read_raw<double>(argv[2], size_t(cols * cols));

  wquant::QuantScheme scheme;
  scheme.bits = int(bits);
  scheme.granularity = group == 0 ? wquant::Granularity::PerChannel : wquant::Granularity::PerGroup;
  scheme.channel_axis = 0;
  scheme.group_size = group;
  scheme.symmetric = sym != 0;
  wquant::QuantizedTensor grid = wquant::quantize(w.data(), rows, cols, scheme, wquant::DType::F32);

  wquant::GptqOptions options;
  options.act_order = act_order != 0;
  options.block_size = block;
  const wquant::GptqFactor factor = wquant::gptq_factor(h.data(), cols, options);
  nlohmann::json out;
  if (!factor.ok) {
    out = {{"damp_percent", nullptr}, {"ok", false}, {"relative_output_error", nullptr}};
  } else {
    wquant::gptq_rows(factor, w.data(), block, 0, rows, grid);
    write_raw(prefix + ".q.i8", grid.q);
    write_raw(prefix + ".scales.f32", grid.scales);
    if (!scheme.symmetric) write_raw(prefix + ".zp.i8", grid.zero_points);
    out = {{"damp_percent", factor.damp_percent},
           {"ok", true},
           {"relative_output_error", wquant::relative_output_error(w.data(), grid, h.data())}};
  }
  std::cout << out.dump() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 11) {
    std::fprintf(stderr,
                 "usage: gptq_tool W.f32 H.f64 ROWS COLS BITS GROUP SYM ACT_ORDER BLOCK OUT_PREFIX\n");
    return 1;
  }
  try {
    run(argv);
  } catch (const wquant::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
