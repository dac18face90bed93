#include "wquant/pipeline/quantize_model.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "wquant/core/error.h"
#include "wquant/io/gguf.h"
#include "wquant/io/output_dir.h"
#include "wquant/io/safetensors.h"
#include "wquant/pipeline/compressed_tensors.h"
#include "wquant/quant/grid_search.h"
#include "wquant/quant/quantize.h"
#include "wquant/tokenizer/gguf_vocab.h"

namespace wquant {
namespace {

namespace fs = std::filesystem;

// Returns w [rows, cols] transposed to [cols, rows].
std::vector<float> transpose(const std::vector<float>& w, int64_t rows, int64_t cols) {
  std::vector<float> t(w.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) t[size_t(c * rows + r)] = w[size_t(r * cols + c)];
  return t;
}

// The dtype an unquantized tensor is written in: float tensors at the plan's
// float dtype (copied byte for byte when already stored so), integer
// tensors as stored.
DType output_dtype(const TensorInfo& info, DType float_dtype) {
  return is_float(info.dtype) ? float_dtype : info.dtype;
}

uint64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    uint64_t total = 0;
    for (const auto& e : fs::directory_iterator(path, ec))
      if (e.is_regular_file(ec)) {
        const auto name = e.path().filename().string();
        if (name.ends_with(".safetensors") || name.ends_with(".gguf")) total += e.file_size(ec);
      }
    return total;
  }
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

// The dtype a tensor's "before" bytes are counted in: plain float tensors as
// stored; block-quantized ones (GGUF) at the output float dtype.
DType baseline_dtype(const TensorInfo& info, DType float_dtype) {
  if (!is_float(info.dtype)) return info.dtype;
  return info.stored_type == dtype_name(info.dtype) ? info.dtype : float_dtype;
}

struct Layout {
  std::vector<TensorSpec> specs;
  uint64_t total_before = 0;
};

Layout layout_output(const CheckpointReader& ckpt, const Plan& plan) {
  Layout l;
  for (const auto& t : plan.tensors) {
    const TensorInfo& info = ckpt.info(t.tensor);
    l.total_before += uint64_t(numel(info.shape)) * dtype_size(baseline_dtype(info, plan.float_dtype));
    if (t.quantize) {
      const int64_t out = t.cls.transposed ? t.shape[1] : t.shape[0];
      const int64_t in = t.cls.transposed ? t.shape[0] : t.shape[1];
      for (auto& s : packed_layer_specs(t.layer, out, in, t.scheme, plan.float_dtype))
        l.specs.push_back(std::move(s));
    } else {
      l.specs.push_back({t.tensor, output_dtype(info, plan.float_dtype), info.shape});
    }
  }
  return l;
}

// Writes one unquantized float tensor multiplied element by element by `scale`.
void write_scaled(const CheckpointReader& ckpt, const TensorInfo& info, DType out_dtype,
                  const std::vector<float>& scale, SafetensorsWriter& writer) {
  std::vector<float> values = ckpt.read_f32(info.name);
  ckpt.release(info.name);
  if (!is_float(out_dtype) || values.size() != scale.size())
    fail(ckpt.path(), ": tensor ", info.name, " ", shape_str(info.shape), " cannot take ", scale.size(), " scales");
  for (size_t i = 0; i < values.size(); ++i) values[i] *= scale[i];
  std::vector<uint8_t> bytes(values.size() * dtype_size(out_dtype));
  from_f32(values.data(), values.size(), out_dtype, bytes.data());
  writer.write(info.name, bytes.data(), bytes.size());
}

// Writes one unquantized tensor: zero-copy from the mapping when the dtype
// is unchanged, converted through f32 otherwise.
void copy_tensor(const CheckpointReader& ckpt, const TensorInfo& info, DType out_dtype,
                 SafetensorsWriter& writer) {
  if (auto view = ckpt.view(info.name); view && view->dtype == out_dtype) {
    writer.write(info.name, view->data, view->nbytes());
    return;
  }
  if (!is_float(out_dtype)) fail(ckpt.path(), ": tensor ", info.name, " of type ",
                                 info.stored_type, " cannot be copied");
  const auto values = ckpt.read_f32(info.name);
  ckpt.release(info.name);
  std::vector<uint8_t> bytes(values.size() * dtype_size(out_dtype));
  from_f32(values.data(), values.size(), out_dtype, bytes.data());
  writer.write(info.name, bytes.data(), bytes.size());
}

LayerReport quantize_tensor(const CheckpointReader& ckpt, const TensorPlan& t, DType scale_dtype,
                            QuantizeOptions& options, SafetensorsWriter& writer) {
  std::vector<float> w = ckpt.read_f32(t.tensor);
  ckpt.release(t.tensor);  // w is a copy: the mapped pages are not needed now
  int64_t rows = t.shape[0], cols = t.shape[1];
  if (t.cls.transposed) {
    w = transpose(w, rows, cols);
    std::swap(rows, cols);
  }
  LayerReport r;
  r.layer = t.layer;
  r.shape = t.shape;
  r.scheme = t.scheme;
  QuantizedTensor qt;
  if (auto it = options.precomputed.find(t.layer); it != options.precomputed.end()) {
    PrecomputedLayer& p = it->second;
    if (p.q.rows != rows || p.q.cols != cols || p.q.scheme.bits != t.scheme.bits ||
        p.q.scheme.granularity != t.scheme.granularity ||
        p.q.scheme.group_size != t.scheme.group_size || p.q.scheme.symmetric != t.scheme.symmetric)
      fail(ckpt.path(), ": layer ", t.layer, ": calibrated result ", p.q.scheme.describe(), " [",
           p.q.rows, ", ", p.q.cols, "] does not match the plan's ", t.scheme.describe(), " [",
           rows, ", ", cols, "]");
    qt = std::move(p.q);
    r.method = p.method;
    r.output_error = p.output_error;
    r.damp_percent = p.damp_percent;
    r.note = p.note;
    options.precomputed.erase(it);
  } else if (options.method == "mse") {
    qt = quantize_mse(w.data(), rows, cols, t.scheme, scale_dtype);
    r.method = "mse";
  } else {
    qt = quantize(w.data(), rows, cols, t.scheme, scale_dtype);
  }
  if (auto it = options.notes.find(t.layer); it != options.notes.end())
    r.note += (r.note.empty() ? "" : "; ") + it->second;
  r.error = quantization_error(qt, w.data(), &r.error_histogram);
  const TensorInfo& info = ckpt.info(t.tensor);
  r.bytes_before = uint64_t(rows * cols) * dtype_size(baseline_dtype(info, scale_dtype));
  w.clear();
  w.shrink_to_fit();
  const auto specs = packed_layer_specs(t.layer, rows, cols, t.scheme, scale_dtype);
  const auto bytes = pack_quantized_layer(qt, scale_dtype);
  for (size_t i = 0; i < specs.size(); ++i) {
    writer.write(specs[i].name, bytes[i].data(), bytes[i].size());
    r.bytes_after += bytes[i].size();
  }
  return r;
}

nlohmann::json output_config(const CheckpointReader& ckpt, const Plan& plan) {
  nlohmann::json config = ckpt.config().is_object() ? ckpt.config() : nlohmann::json::object();
  config["quantization_config"] = quantization_config(plan);
  config["torch_dtype"] = torch_dtype_name(plan.float_dtype);
  return config;
}

// Writes a GGUF input's vocabulary into the output as tokenizer.json and
// tokenizer_config.json, so the output runs without the GGUF beside it.
// A tokenizer that cannot be written (not byte-level BPE, another
// pre-tokenizer regex) is a warning, not a failure: the weights do not
// depend on it.
void write_gguf_tokenizer(const GgufFile& gguf, OutputDir& dir, QuantizeReport& report) {
  std::string tokenizer, config;
  try {
    const HfTokenizerFiles files = gguf_tokenizer_files(gguf);
    tokenizer = files.tokenizer.dump(2) + "\n";
    config = files.tokenizer_config.dump(2) + "\n";
  } catch (const Error& e) {
    report.warnings.push_back(cat("no tokenizer.json written (", e.what(),
                                  "); pass --tokenizer to generate / eval"));
    return;
  } catch (const nlohmann::json::exception& e) {  // dump() of a string that is not UTF-8
    report.warnings.push_back(cat("no tokenizer.json written (", gguf.path(),
                                  ": tokenizer metadata is not valid UTF-8: ", e.what(), ")"));
    return;
  }
  write_text_file(dir.path_for("tokenizer.json"), tokenizer);
  write_text_file(dir.path_for("tokenizer_config.json"), config);
}

}  // namespace

uint64_t planned_tensor_bytes(const CheckpointReader& ckpt, const TensorPlan& t, DType float_dtype) {
  Plan one;
  one.float_dtype = float_dtype;
  one.tensors.push_back(t);
  uint64_t total = 0;
  // A header entry: "NAME":{"dtype":"I32","shape":[a,b],"data_offsets":[c,d]},
  // is the name and at most ~90 characters more for 2-D shapes and offsets
  // below 10^15.
  for (const auto& spec : layout_output(ckpt, one).specs)
    total += uint64_t(numel(spec.shape)) * dtype_size(spec.dtype) + spec.name.size() + 100;
  return total;
}

uint64_t peak_rss_bytes() {
  // VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across execve,
  // so a process started by a large parent (a Python test) would report the
  // parent's size. VmHWM belongs to this process's own address space.
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    unsigned long long kib = 0;
    bool found = false;
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "VmHWM: %llu kB", &kib) == 1) {
        found = true;
        break;
      }
    std::fclose(f);
    if (found) return uint64_t(kib) * 1024;
  }
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return uint64_t(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

QuantizeReport quantize_checkpoint(const CheckpointReader& ckpt, const Plan& plan,
                                   const std::string& out_dir, bool overwrite,
                                   const ProgressFn& progress) {
  QuantizeOptions options;
  return quantize_checkpoint(ckpt, plan, out_dir, overwrite, options, progress);
}

QuantizeReport quantize_checkpoint(const CheckpointReader& ckpt, const Plan& plan,
                                   const std::string& out_dir, bool overwrite,
                                   QuantizeOptions& options, const ProgressFn& progress) {
  if (options.method != "rtn" && options.method != "mse")
    fail("quantize: method ", options.method, " needs calibration (expected rtn or mse here)");
  const auto start = std::chrono::steady_clock::now();
  QuantizeReport report;
  report.input = ckpt.path();
  report.output = out_dir;
  report.model_type = plan.rules.model_type;
  report.known_architecture = plan.rules.known;
  report.float_dtype = plan.float_dtype;
  report.tensors = plan.tensors.size();
  report.input_file_bytes = file_size_or_zero(ckpt.path());

  {
    std::error_code ec;
    const auto in = fs::weakly_canonical(ckpt.path(), ec);
    const auto out = fs::weakly_canonical(out_dir, ec);
    const auto in_dir = fs::is_directory(in, ec) ? in : in.parent_path();
    // Refuse an output that is, or contains, the input: --force would delete it.
    const auto rel = in.lexically_relative(out);
    const bool inside = !rel.empty() && *rel.begin() != "..";
    if (out == in || out == in_dir || inside)
      fail(out_dir, ": the output would replace the input checkpoint ", ckpt.path());
  }
  Layout layout = layout_output(ckpt, plan);
  report.total_before = layout.total_before;

  OutputDir dir(out_dir, overwrite);
  const std::string weights_path = dir.path_for("model.safetensors");
  {
    SafetensorsWriter writer(weights_path, layout.specs, {{"format", "pt"}});
    for (size_t i = 0; i < plan.tensors.size(); ++i) {
      const TensorPlan& t = plan.tensors[i];
      if (t.quantize) {
        report.layers.push_back(quantize_tensor(ckpt, t, plan.float_dtype, options, writer));
      } else if (const auto it = options.tensor_scales.find(t.tensor); it != options.tensor_scales.end()) {
        const TensorInfo& info = ckpt.info(t.tensor);
        write_scaled(ckpt, info, output_dtype(info, plan.float_dtype), it->second, writer);
        options.tensor_scales.erase(it);
      } else {
        const TensorInfo& info = ckpt.info(t.tensor);
        copy_tensor(ckpt, info, output_dtype(info, plan.float_dtype), writer);
      }
      ckpt.release(t.tensor);
      if (progress) progress(i + 1, plan.tensors.size(), t.tensor);
    }
    if (!options.tensor_scales.empty())
      fail(ckpt.path(), ": tensor ", options.tensor_scales.begin()->first, " was to be scaled but is quantized or absent");
    writer.finish();
  }
  for (const auto& spec : layout.specs) report.total_after += uint64_t(numel(spec.shape)) * dtype_size(spec.dtype);

  write_text_file(dir.path_for("config.json"), output_config(ckpt, plan).dump(2) + "\n");
  for (const auto& side : ckpt.side_files())
    copy_file(side, dir.path_for(fs::path(side).filename().string()));
  if (const GgufFile* gguf = ckpt.gguf()) write_gguf_tokenizer(*gguf, dir, report);
  if (!options.recipe.is_null()) {
    report.recipe = options.recipe;
    write_text_file(dir.path_for("recipe.json"), options.recipe.dump(2) + "\n");
  }
  report.output_file_bytes = file_size_or_zero(weights_path);
  dir.commit();

  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.peak_rss_bytes = peak_rss_bytes();
  return report;
}

}  // namespace wquant
