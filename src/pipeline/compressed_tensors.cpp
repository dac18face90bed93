#include "wquant/pipeline/compressed_tensors.h"

#include <cstring>
#include <map>

#include "wquant/core/error.h"
#include "wquant/quant/pack.h"

namespace wquant {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

Shape scale_shape(const QuantScheme& s, int64_t out, int64_t in) {
  switch (s.granularity) {
    case Granularity::PerTensor: return {1};
    case Granularity::PerChannel: return {out, 1};
    case Granularity::PerGroup: return {out, ceil_div(in, s.group_size)};
  }
  return {};
}

template <class T>
std::vector<uint8_t> as_bytes(const std::vector<T>& v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

const char* strategy_name(Granularity g) {
  switch (g) {
    case Granularity::PerTensor: return "tensor";
    case Granularity::PerChannel: return "channel";
    case Granularity::PerGroup: return "group";
  }
  return "";
}

nlohmann::json weight_args(const QuantScheme& s) {
  nlohmann::json w = {
      {"num_bits", s.bits},        {"type", "int"},
      {"symmetric", s.symmetric},  {"strategy", strategy_name(s.granularity)},
      {"dynamic", false},          {"observer", "minmax"},
  };
  w["group_size"] = s.granularity == Granularity::PerGroup ? nlohmann::json(s.group_size)
                                                           : nlohmann::json(nullptr);
  return w;
}

}  // namespace

std::string torch_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "float32";
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
    default: fail("no torch float dtype for ", dtype_name(dtype));
  }
}

std::vector<TensorSpec> packed_layer_specs(const std::string& layer, int64_t out, int64_t in,
                                           const QuantScheme& scheme, DType scale_dtype) {
  std::vector<TensorSpec> specs;
  specs.push_back({layer + ".weight_packed", DType::I32, {out, packed_int32_cols(in, scheme.bits)}});
  const Shape sshape = scale_shape(scheme, out, in);
  specs.push_back({layer + ".weight_scale", scale_dtype, sshape});
  if (!scheme.symmetric) {
    if (scheme.granularity == Granularity::PerTensor)
      specs.push_back({layer + ".weight_zero_point", DType::I8, {1}});
    else
      specs.push_back({layer + ".weight_zero_point", DType::I32,
                       {packed_int32_cols(out, scheme.bits), sshape[1]}});
  }
  specs.push_back({layer + ".weight_shape", DType::I64, {2}});
  return specs;
}

uint64_t packed_layer_bytes(int64_t out, int64_t in, const QuantScheme& scheme, DType scale_dtype) {
  uint64_t total = 0;
  for (const auto& spec : packed_layer_specs("", out, in, scheme, scale_dtype)) {
    uint64_t n = dtype_size(spec.dtype);
    for (const int64_t d : spec.shape) n *= uint64_t(d);
    total += n;
  }
  return total;
}

std::vector<std::vector<uint8_t>> pack_quantized_layer(const QuantizedTensor& qt,
                                                       DType scale_dtype) {
  const QuantScheme& s = qt.scheme;
  if (s.granularity == Granularity::PerChannel && s.channel_axis != 0)
    fail("compressed-tensors stores per-channel scales per output row only (channel axis 0)");
  std::vector<std::vector<uint8_t>> out;
  out.push_back(as_bytes(pack_int32_rows(qt.q.data(), qt.rows, qt.cols, s.bits)));

  std::vector<uint8_t> scales(qt.scales.size() * dtype_size(scale_dtype));
  from_f32(qt.scales.data(), qt.scales.size(), scale_dtype, scales.data());
  out.push_back(std::move(scales));

  if (!s.symmetric) {
    if (s.granularity == Granularity::PerTensor) {
      out.push_back(as_bytes(qt.zero_points));
    } else {
      // Pack along dim 0: transpose [rows, ng] -> [ng, rows], pack each row,
      // transpose the [ng, words] result back to [words, ng].
      const int64_t rows = qt.scale_rows, ng = qt.scale_cols;
      std::vector<int8_t> transposed(size_t(rows * ng));
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t g = 0; g < ng; ++g) transposed[size_t(g * rows + r)] = qt.zero_points[size_t(r * ng + g)];
      const auto packed = pack_int32_rows(transposed.data(), ng, rows, s.bits);
      const int64_t words = packed_int32_cols(rows, s.bits);
      std::vector<int32_t> result(size_t(words * ng));
      for (int64_t g = 0; g < ng; ++g)
        for (int64_t w = 0; w < words; ++w) result[size_t(w * ng + g)] = packed[size_t(g * words + w)];
      out.push_back(as_bytes(result));
    }
  }
  out.push_back(as_bytes(std::vector<int64_t>{qt.rows, qt.cols}));
  return out;
}

nlohmann::json quantization_config(const Plan& plan) {
  // Group layers by scheme; std::map on describe() keeps groups in a stable order.
  std::map<std::string, std::pair<QuantScheme, std::vector<std::string>>> groups;
  nlohmann::json ignore = nlohmann::json::array();
  for (const auto& t : plan.tensors) {
    if (t.quantize) {
      auto& g = groups[t.scheme.describe()];
      g.first = t.scheme;
      g.second.push_back(t.layer);
    } else if (t.cls.role == TensorRole::Linear || t.cls.role == TensorRole::LmHead) {
      ignore.push_back(t.layer);
    }
  }
  nlohmann::json config_groups = nlohmann::json::object();
  int index = 0;
  for (const auto& [name, g] : groups) {
    config_groups["group_" + std::to_string(index++)] = {
        {"targets", g.second},
        {"weights", weight_args(g.first)},
        {"input_activations", nullptr},
        {"output_activations", nullptr},
        {"format", "pack-quantized"},
    };
  }
  return {
      {"quant_method", "compressed-tensors"},
      {"format", "pack-quantized"},
      {"quantization_status", "compressed"},
      {"config_groups", config_groups},
      {"ignore", ignore},
      {"kv_cache_scheme", nullptr},
  };
}

}  // namespace wquant
