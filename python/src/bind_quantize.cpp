// Quantization from Python: whole checkpoints (the CLI's quantize job), one
// array at a time, and the compressed-tensors tensors of one layer (what
// wquant.torch puts in a model's buffers and saves).
#include <nanobind/stl/map.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cstring>

#include "common.h"
#include "wquant/calibrate/quantize_job.h"
#include "wquant/core/tensor.h"
#include "wquant/pipeline/compressed_tensors.h"
#include "wquant/pipeline/report.h"
#include "wquant/pipeline/report_html.h"
#include "wquant/quant/grid_search.h"
#include "wquant/quant/pack.h"
#include "wquant/quant/quantize.h"

namespace wquant::python {
namespace {

// Returns the scheme described by the keyword arguments of wquant.quantize.
QuantScheme make_scheme(int bits, const std::string& granularity, int64_t group_size, bool symmetric) {
  QuantScheme s;
  s.bits = bits;
  s.symmetric = symmetric;
  if (granularity == "channel") {
    s.granularity = Granularity::PerChannel;
  } else if (granularity == "tensor") {
    s.granularity = Granularity::PerTensor;
  } else if (granularity == "group") {
    s.granularity = Granularity::PerGroup;
    s.group_size = group_size;
  } else {
    fail("granularity ", granularity, ": expected channel, tensor or group");
  }
  if (s.granularity != Granularity::PerGroup && group_size != 0)
    fail("group_size ", group_size, " needs granularity=\"group\"");
  s.validate();
  return s;
}

DType scale_dtype_named(const std::string& name) {
  if (name == "float32" || name == "f32") return DType::F32;
  if (name == "float16" || name == "f16") return DType::F16;
  if (name == "bfloat16" || name == "bf16") return DType::BF16;
  fail("scale_dtype ", name, ": expected float32, float16 or bfloat16");
}

// A 2-D float array (f32/f16/bf16/f64) as f32 values: the array's own memory
// when it is f32, else a converted copy kept in `storage`.
const float* as_f32_matrix(const AnyArray& w, std::vector<float>& storage, int64_t& rows, int64_t& cols) {
  if (w.ndim() != 2) fail("the weight must be 2-D [out_features, in_features], not ", w.ndim(), "-D");
  rows = int64_t(w.shape(0));
  cols = int64_t(w.shape(1));
  const DType d = array_dtype(w, "the weight");
  if (!is_float(d)) fail("the weight must be float32, float16, bfloat16 or float64, not ", dtype_name(d));
  if (d == DType::F32) return static_cast<const float*>(w.data());
  storage = to_f32(TensorView{d, {rows, cols}, w.data()});
  return storage.data();
}

nb::dict error_dict(const ErrorStats& e) {
  nb::dict d;
  d["mse"] = e.mse;
  d["sqnr_db"] = e.sqnr_db;
  d["max_abs"] = e.max_abs;
  return d;
}

// Returns the tensors a quantized layer is stored as in a compressed-tensors
// checkpoint: [(suffix, dtype name, shape, bytes as uint8 array)], suffix
// e.g. "weight_packed".
nb::list compressed_tensors_tensors(const QuantizedTensor& qt, const std::string& scale_dtype) {
  const DType sd = scale_dtype_named(scale_dtype);
  const auto specs = packed_layer_specs("", qt.rows, qt.cols, qt.scheme, sd);
  const auto bytes = pack_quantized_layer(qt, sd);
  nb::list out;
  for (size_t i = 0; i < specs.size(); ++i) {
    out.append(nb::make_tuple(specs[i].name.substr(1), std::string(dtype_name(specs[i].dtype)),
                              nb::cast(specs[i].shape), to_numpy(bytes[i], {bytes[i].size()})));
  }
  return out;
}

}  // namespace

void bind_quantize(nb::module_& m) {
  nb::class_<QuantizeJob>(m, "QuantizeJob", "The options of one quantization job (wquant quantize's).")
      .def(nb::init<>())
      .def_rw("input", &QuantizeJob::input)
      .def_rw("output", &QuantizeJob::output)
      .def_rw("overwrite", &QuantizeJob::overwrite)
      .def_rw("bits", &QuantizeJob::bits)
      .def_rw("per_tensor", &QuantizeJob::per_tensor)
      .def_rw("group_size", &QuantizeJob::group_size)
      .def_rw("symmetric", &QuantizeJob::symmetric)
      .def_rw("exclude", &QuantizeJob::exclude)
      .def_rw("include", &QuantizeJob::include)
      .def_rw("overrides", &QuantizeJob::overrides)
      .def_rw("dtype", &QuantizeJob::dtype)
      .def_rw("method", &QuantizeJob::method)
      .def_rw("calibration", &QuantizeJob::calibration)
      .def_rw("tokenizer", &QuantizeJob::tokenizer)
      .def_rw("calibration_tokens", &QuantizeJob::calibration_tokens)
      .def_rw("calibration_context", &QuantizeJob::calibration_context)
      .def_rw("damp", &QuantizeJob::damp)
      .def_rw("act_order", &QuantizeJob::act_order)
      .def_rw("target_size", &QuantizeJob::target_size)
      .def_rw("target_schemes", &QuantizeJob::target_schemes)
      .def_rw("report_html", &QuantizeJob::report_html)
      .def_rw("report_layer", &QuantizeJob::report_layer);

  nb::class_<QuantizeReport>(m, "QuantizeReport", "What a quantization job did, layer by layer.")
      .def("json", [](const QuantizeReport& r) { return report_json(r).dump(); }, "The report as a JSON string.")
      .def("text", [](const QuantizeReport& r) { return format_report(r); }, "The report as the CLI prints it.")
      .def("html", [](const QuantizeReport& r, const std::string& layer) { return report_html(r, layer); },
           nb::arg("layer") = "", "The report as a self-contained HTML page.")
      .def("write_html", [](const QuantizeReport& r, const std::string& path,
                            const std::string& layer) { write_report_html(r, path, layer); },
           nb::arg("path"), nb::arg("layer") = "", "Writes the HTML page to path atomically.");

  m.def(
      "run_quantize_job",
      [](const QuantizeJob& job, nb::object progress, nb::object warning) {
        QuantizeJobCallbacks cb;
        cb.progress = [&](const std::string& stage, size_t done, size_t total, const std::string& what) {
          report_progress(progress, stage, done, total, what);
        };
        cb.warning = [&](const std::string& message) { report_progress(warning, message); };
        nb::gil_scoped_release release;
        return run_quantize_job(job, cb);
      },
      nb::arg("job"), nb::arg("progress").none(), nb::arg("warning").none(),
      "Runs the job; progress(stage, done, total, what) and warning(message) may be None.");
  m.def(
      "plan_quantize_job",
      [](const QuantizeJob& job) {
        const auto ckpt = open_checkpoint(job.input);
        const Plan plan = plan_quantize_job(job, *ckpt);
        return plan_json(plan).dump();
      },
      nb::arg("job"), "The job's plan (what --dry-run prints) as a JSON string.");

  nb::class_<QuantizedTensor>(m, "QuantizedTensor", "A quantized 2-D weight, integers unpacked.")
      .def_prop_ro("scheme", [](const QuantizedTensor& t) { return t.scheme.describe(); })
      .def_prop_ro("bits", [](const QuantizedTensor& t) { return t.scheme.bits; })
      .def_prop_ro("shape", [](const QuantizedTensor& t) { return std::make_pair(t.rows, t.cols); })
      .def_prop_ro(
          "q",
          [](QuantizedTensor& t) {
            return nb::ndarray<nb::numpy, int8_t>(t.q.data(), {size_t(t.rows), size_t(t.cols)}, nb::handle());
          },
          nb::rv_policy::reference_internal, "The integers q, int8 [rows, cols] (a view).")
      .def_prop_ro(
          "scales",
          [](QuantizedTensor& t) {
            return nb::ndarray<nb::numpy, float>(t.scales.data(), {size_t(t.scale_rows), size_t(t.scale_cols)},
                                                 nb::handle());
          },
          nb::rv_policy::reference_internal, "The scales, float32 [scale_rows, scale_cols] (a view).")
      .def_prop_ro(
          "zero_points",
          [](QuantizedTensor& t) {
            const size_t rows = t.zero_points.empty() ? 0 : size_t(t.scale_rows);
            return nb::ndarray<nb::numpy, int8_t>(t.zero_points.data(), {rows, size_t(t.scale_cols)}, nb::handle());
          },
          nb::rv_policy::reference_internal, "The zero-points, int8 like scales; 0 rows when symmetric (a view).")
      .def("dequantize",
           [](const QuantizedTensor& t) {
             return to_numpy(dequantize(t), {size_t(t.rows), size_t(t.cols)});
           },
           "The dequantized weight (q - zero_point) * scale, float32 [rows, cols].")
      .def("packed",
           [](const QuantizedTensor& t) {
             return to_numpy(pack_int32_rows(t.q.data(), t.rows, t.cols, t.scheme.bits),
                             {size_t(t.rows), size_t(packed_int32_cols(t.cols, t.scheme.bits))});
           },
           "The integers packed as compressed-tensors' weight_packed, int32 [rows, ceil(cols * bits / 32)].")
      .def("error",
           [](const QuantizedTensor& t, const AnyArray& w) {
             std::vector<float> storage;
             int64_t rows = 0, cols = 0;
             const float* p = as_f32_matrix(w, storage, rows, cols);
             if (rows != t.rows || cols != t.cols)
               fail("the weight is [", rows, ", ", cols, "], the quantized tensor [", t.rows, ", ", t.cols, "]");
             return error_dict(quantization_error(t, p));
           },
           nb::arg("w"), "mse, sqnr_db and max_abs of dequantize() against w.")
      .def("compressed_tensors", &compressed_tensors_tensors, nb::arg("scale_dtype") = "float32",
           "The layer's tensors as a compressed-tensors checkpoint stores them: "
           "[(suffix, dtype, shape, raw bytes)].");

  m.def(
      "quantize",
      [](const AnyArray& w, int bits, const std::string& granularity, int64_t group_size, bool symmetric,
         const std::string& scale_dtype, const std::string& method) {
        std::vector<float> storage;
        int64_t rows = 0, cols = 0;
        const float* p = as_f32_matrix(w, storage, rows, cols);
        const QuantScheme scheme = make_scheme(bits, granularity, group_size, symmetric);
        const DType sd = scale_dtype_named(scale_dtype);
        if (method != "rtn" && method != "mse") fail("method ", method, ": expected rtn or mse");
        nb::gil_scoped_release release;
        return method == "mse" ? quantize_mse(p, rows, cols, scheme, sd) : quantize(p, rows, cols, scheme, sd);
      },
      nb::arg("w"), nb::arg("bits"), nb::arg("granularity"), nb::arg("group_size"), nb::arg("symmetric"),
      nb::arg("scale_dtype"), nb::arg("method"), "Quantizes a 2-D float array.");

  m.def(
      "quantization_config",
      [](const std::vector<std::pair<std::string, std::string>>& quantized, const std::vector<std::string>& ignored) {
        Plan plan;
        QuantScheme base;
        for (const auto& [layer, scheme] : quantized) {
          TensorPlan t;
          t.layer = layer;
          t.quantize = true;
          t.scheme = parse_scheme(scheme, base);
          plan.tensors.push_back(t);
        }
        for (const auto& layer : ignored) {
          TensorPlan t;
          t.layer = layer;
          t.cls.role = TensorRole::Linear;
          plan.tensors.push_back(t);
        }
        return quantization_config(plan).dump();
      },
      nb::arg("quantized"), nb::arg("ignored"),
      "config.json's quantization_config (JSON) for [(layer, scheme e.g. 'w4-g32-asym')] and the float linear layers.");
}

}  // namespace wquant::python
