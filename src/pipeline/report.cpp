#include "wquant/pipeline/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "number_format.h"

namespace wquant {
namespace {

using detail::fixed;
using detail::sci;

std::string pad(const std::string& s, size_t width, bool right = false) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

nlohmann::json json_number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

}  // namespace

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? std::to_string(bytes) + " B" : fixed(v, 2) + " " + units[u];
}

std::string format_report(const QuantizeReport& r) {
  std::ostringstream out;
  size_t name_w = 5;
  bool calibrated = false;
  for (const auto& l : r.layers) {
    name_w = std::max(name_w, l.layer.size());
    calibrated = calibrated || l.method != "rtn";
  }
  out << pad("layer", name_w) << "  " << pad("shape", 13) << "  " << pad("scheme", 22) << "  "
      << pad("MSE", 10, true) << "  " << pad("SQNR dB", 7, true) << "  " << pad("max|err|", 10, true)
      << "  " << pad("before", 10, true) << "  " << pad("after", 10, true)
      << (calibrated ? "  method  out err  damp" : "") << "\n";
  std::vector<double> sqnr, out_err;
  for (const auto& l : r.layers) {
    out << pad(l.layer, name_w) << "  " << pad(shape_str(l.shape), 13) << "  "
        << pad(l.scheme.describe(), 22) << "  " << pad(sci(l.error.mse), 10, true) << "  "
        << pad(fixed(l.error.sqnr_db, 2), 7, true) << "  " << pad(sci(l.error.max_abs), 10, true)
        << "  " << pad(human_bytes(l.bytes_before), 10, true) << "  "
        << pad(human_bytes(l.bytes_after), 10, true);
    if (calibrated)
      out << "  " << pad(l.method, 6) << "  "
          << pad(l.output_error >= 0 ? fixed(l.output_error, 4) : "-", 7, true) << "  "
          << pad(l.damp_percent > 0 ? fixed(l.damp_percent, 2) : "-", 4, true)
          << (l.note.empty() ? "" : "  " + l.note);
    out << "\n";
    sqnr.push_back(l.error.sqnr_db);
    if (l.output_error >= 0) out_err.push_back(l.output_error);
  }
  out << "\n";
  out << "model_type      " << r.model_type
      << (r.known_architecture ? "" : " (unknown architecture: generic rule, check with --dry-run)")
      << "\n";
  out << "layers          " << r.layers.size() << " quantized of " << r.tensors << " tensors\n";
  if (!sqnr.empty()) {
    out << "SQNR dB         min " << fixed(*std::min_element(sqnr.begin(), sqnr.end()), 2)
        << ", median " << fixed(median(sqnr), 2) << ", max "
        << fixed(*std::max_element(sqnr.begin(), sqnr.end()), 2) << "\n";
  }
  if (!out_err.empty()) {
    out << "output error    ||(W-Q)X||/||WX|| on calibration inputs: min "
        << fixed(*std::min_element(out_err.begin(), out_err.end()), 4) << ", median "
        << fixed(median(out_err), 4) << ", max "
        << fixed(*std::max_element(out_err.begin(), out_err.end()), 4) << "\n";
  }
  if (r.recipe.is_object()) {
    out << "method          " << r.recipe.value("method", "?");
    if (r.recipe.contains("calibration"))
      out << ", calibrated on " << r.recipe["calibration"].value("tokens", 0) << " tokens ("
          << r.recipe["calibration"].value("windows", 0) << " windows of "
          << r.recipe["calibration"].value("context", 0) << ") of "
          << r.recipe["calibration"].value("text", std::string("?")) << " in "
          << fixed(r.recipe["calibration"].value("seconds", 0.0), 1) << " s";
    out << "; recipe.json\n";
    if (r.recipe.contains("target_size")) {
      const auto& t = r.recipe["target_size"];
      out << "target size     " << t.value("target", std::string("?")) << " = "
          << fixed(double(t.value("target_bytes", uint64_t(0))) / 1e6, 2) << " MB, model.safetensors "
          << fixed(double(r.output_file_bytes) / 1e6, 2) << " MB; layers:";
      if (t.contains("chosen"))
        for (const auto& [scheme, n] : t["chosen"].items()) out << " " << scheme << " " << n.get<int>();
      out << "\n";
    }
  }
  const double ratio = r.total_after ? double(r.total_before) / double(r.total_after) : 0;
  out << "footprint       " << human_bytes(r.total_before) << " (" << r.total_before
      << " B) -> " << human_bytes(r.total_after) << " (" << r.total_after << " B), "
      << fixed(ratio, 2) << "x smaller\n";
  out << "files           input " << human_bytes(r.input_file_bytes) << ", output model.safetensors "
      << human_bytes(r.output_file_bytes) << "\n";
  out << "time            " << fixed(r.seconds, 2) << " s, peak RSS " << human_bytes(r.peak_rss_bytes)
      << "\n";
  out << "output          " << r.output << "\n";
  return out.str();
}

nlohmann::json report_json(const QuantizeReport& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers) {
    layers.push_back({{"layer", l.layer},
                      {"shape", l.shape},
                      {"bits", l.scheme.bits},
                      {"scheme", l.scheme.describe()},
                      {"group_size", l.scheme.group_size},
                      {"symmetric", l.scheme.symmetric},
                      {"mse", l.error.mse},
                      {"sqnr_db", json_number(l.error.sqnr_db)},
                      {"max_abs_error", l.error.max_abs},
                      {"error_histogram", {{"lo", l.error_histogram.lo},
                                           {"hi", l.error_histogram.hi},
                                           {"counts", l.error_histogram.counts}}},
                      {"bytes_before", l.bytes_before},
                      {"bytes_after", l.bytes_after},
                      {"method", l.method},
                      {"output_error", l.output_error >= 0 ? nlohmann::json(l.output_error)
                                                           : nlohmann::json(nullptr)},
                      {"damp_percent", l.damp_percent},
                      {"note", l.note}});
  }
  return {{"input", r.input},
          {"output", r.output},
          {"model_type", r.model_type},
          {"known_architecture", r.known_architecture},
          {"float_dtype", std::string(dtype_name(r.float_dtype))},
          {"tensors", r.tensors},
          {"layers", layers},
          {"total_bytes_before", r.total_before},
          {"total_bytes_after", r.total_after},
          {"compression_ratio",
           r.total_after ? double(r.total_before) / double(r.total_after) : 0.0},
          {"input_file_bytes", r.input_file_bytes},
          {"output_file_bytes", r.output_file_bytes},
          {"seconds", r.seconds},
          {"peak_rss_bytes", r.peak_rss_bytes},
          {"warnings", r.warnings},
          {"recipe", r.recipe}};
}

std::string format_plan(const Plan& plan) {
  std::ostringstream out;
  size_t name_w = 6;
  for (const auto& t : plan.tensors) name_w = std::max(name_w, t.tensor.size());
  out << pad("tensor", name_w) << "  " << pad("shape", 14) << "  " << pad("action", 9) << "  "
      << pad("scheme", 22) << "  reason\n";
  for (const auto& t : plan.tensors) {
    out << pad(t.tensor, name_w) << "  " << pad(shape_str(t.shape), 14) << "  "
        << pad(t.quantize ? "quantize" : "keep", 9) << "  "
        << pad(t.quantize ? t.scheme.describe() : "-", 22) << "  " << t.reason
        << (t.cls.transposed ? " (stored [in, out], transposed)" : "") << "\n";
  }
  out << "\nmodel_type " << plan.rules.model_type
      << (plan.rules.known ? "" : " (unknown: generic rule)") << ", " << plan.quantized_count()
      << " of " << plan.tensors.size() << " tensors quantized, floats and scales in "
      << dtype_name(plan.float_dtype) << "\n";
  return out.str();
}

nlohmann::json plan_json(const Plan& plan) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& t : plan.tensors) {
    nlohmann::json j = {{"tensor", t.tensor}, {"shape", t.shape}, {"quantize", t.quantize},
                        {"reason", t.reason}, {"transposed", t.cls.transposed}};
    if (t.quantize) j["scheme"] = t.scheme.describe();
    tensors.push_back(j);
  }
  return {{"model_type", plan.rules.model_type},
          {"known_architecture", plan.rules.known},
          {"float_dtype", std::string(dtype_name(plan.float_dtype))},
          {"quantized", plan.quantized_count()},
          {"tensors", tensors}};
}

}  // namespace wquant
