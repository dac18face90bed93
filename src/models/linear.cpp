#include "wquant/models/linear.h"

#include <regex>
#include <vector>

#include "wquant/core/error.h"
#include "wquant/io/json_number.h"
#include "wquant/kernels/linear.h"
#include "wquant/quant/pack.h"

namespace wquant {
namespace {

thread_local LinearHook* current_hook = nullptr;

void expect_shape(const CheckpointReader& ckpt, const std::string& tensor, const Shape& want) {
  const TensorInfo& info = ckpt.info(tensor);
  if (info.shape != want)
    fail(ckpt.path(), ": tensor ", tensor, " has shape ", shape_str(info.shape), ", expected ",
         shape_str(want));
}

// Returns a view of a float tensor, or its f32 copy kept alive in `owned`.
TensorView float_tensor(const CheckpointReader& ckpt, const std::string& tensor,
                        std::shared_ptr<std::vector<float>>& owned) {
  const TensorInfo& info = ckpt.info(tensor);
  if (auto v = ckpt.view(tensor); v && (v->dtype == DType::F32 || v->dtype == DType::F16 ||
                                         v->dtype == DType::BF16))
    return *v;
  owned = std::make_shared<std::vector<float>>(ckpt.read_f32(tensor));
  return TensorView{DType::F32, info.shape, owned->data()};
}

}  // namespace

QuantizationInfo::QuantizationInfo(const nlohmann::json& config, const std::string& where) try {
  if (!config.is_object() || !config.contains("quantization_config")) return;
  const auto& q = config["quantization_config"];
  const std::string format = q.value("format", "");
  if (q.value("quant_method", "") != "compressed-tensors" || format != "pack-quantized")
    fail(where, ": quantization_config ", q.value("quant_method", "?"), " / ", format,
         " is not supported (expected compressed-tensors / pack-quantized)");
  if (q.contains("ignore") && q["ignore"].is_array())
    for (const auto& i : q["ignore"]) ignore_.push_back(target(i, where + ": quantization_config ignore"));
  // Named locals: ranging over items() of a temporary json would dangle.
  const nlohmann::json groups = q.value("config_groups", nlohmann::json::object());
  for (const auto& [gname, g] : groups.items()) {
    const nlohmann::json w = g.value("weights", nlohmann::json::object());
    if (w.value("type", "int") != "int")
      fail(where, ": config group ", gname, ": weight type ", w.value("type", ""), " is not supported");
    Group group;
    const std::string what = cat(where, ": config group ", gname);
    group.scheme.bits = int(json_int_or(w, "num_bits", 8, 1, 8, what + ": weights"));
    group.scheme.symmetric = w.value("symmetric", true);
    const std::string strategy = w.value("strategy", "channel");
    if (strategy == "tensor") {
      group.scheme.granularity = Granularity::PerTensor;
    } else if (strategy == "channel") {
      group.scheme.granularity = Granularity::PerChannel;
    } else if (strategy == "group") {
      group.scheme.granularity = Granularity::PerGroup;
      if (!w.contains("group_size") || w["group_size"].is_null())
        fail(what, ": strategy group without a group_size");
      group.scheme.group_size = json_int(w["group_size"], 1, INT32_MAX, what + ": weights 'group_size'");
    } else {
      fail(where, ": config group ", gname, ": strategy ", strategy, " is not supported");
    }
    group.scheme.validate();
    const nlohmann::json targets = g.value("targets", nlohmann::json::array());
    for (const auto& t : targets) group.targets.push_back(target(t, what + ": targets"));
    groups_.push_back(std::move(group));
  }
} catch (const nlohmann::json::exception& e) {  // a value of the wrong JSON type
  fail(where, ": quantization_config: unexpected content: ", e.what());
}

namespace {

// Refuses what libstdc++'s std::regex mishandles on hostile input, before it
// sees the pattern (both found by fuzz_config):
//  * a number of more than 6 digits ("\\7777777777777777777", a backreference
//    index, overflows a long inside regex_compiler.tcc: undefined behaviour),
//    and any backreference (targets never need one);
//  * patterns whose backtracking explodes (".??????????*x" ran for minutes on
//    one tensor name; ".*+ayers.*" for 15 s): more than 4 quantifiers, a
//    quantifier on a group that holds a quantifier or an alternation, a
//    quantifier on a quantifier other than the lazy '?'.
// Real targets ("re:.*mlp\\.(up|gate)_proj$", "re:model\\.layers\\.\\d+\\..*")
// use one or two quantifiers. Patterns over 512 characters are refused too.
void check_target_regex(const std::string& pattern, const std::string& where) {
  auto refuse = [&](const char* why) {
    fail(where, ": \"", printable(pattern.substr(0, 60)), "\" ", why);
  };
  if (pattern.size() > 512)
    fail(where, ": regular expression of ", pattern.size(), " characters (at most 512)");
  size_t digits = 0, quantifiers = 0, in_a_row = 0;
  std::vector<bool> group_repeats{false};  // per open group: holds a quantifier or '|'
  bool last_closed_repeats = false;        // the group just closed held one
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    digits = c >= '0' && c <= '9' ? digits + 1 : 0;
    if (digits > 6) refuse("has a number of more than 6 digits");
    const bool quantifier = c == '*' || c == '+' || c == '?' || c == '{';
    if (quantifier) {
      if (++in_a_row > 2) refuse("has three quantifiers in a row");
      // ".*+x": std::regex repeats the repetition (exponential; found by fuzz_config).
      if (in_a_row == 2 && c != '?') refuse("has a quantifier on a quantifier (only a lazy '?' may follow one)");
      if (in_a_row == 1) {  // a second in a row is the lazy '?' (or an error std::regex reports)
        if (++quantifiers > 4) refuse("has more than 4 quantifiers (its matching could take exponential time)");
        if (last_closed_repeats) refuse("repeats a group that repeats (its matching could take exponential time)");
        group_repeats.back() = true;
      }
      if (c == '{') {
        while (i + 1 < pattern.size() && pattern[i + 1] != '}') {
          ++i;
          digits = pattern[i] >= '0' && pattern[i] <= '9' ? digits + 1 : 0;
          if (digits > 6) refuse("has a number of more than 6 digits");
        }
        ++i;  // the '}'
      }
      continue;
    }
    in_a_row = 0;
    last_closed_repeats = false;
    if (c == '\\' && i + 1 < pattern.size()) {
      if (pattern[i + 1] >= '1' && pattern[i + 1] <= '9') refuse("has a backreference (not supported)");
      ++i;  // an escaped character is a literal
    } else if (c == '[') {  // a class: up to the first ']' after its first character
      size_t j = i + 1;
      if (j < pattern.size() && pattern[j] == '^') ++j;
      for (++j; j < pattern.size() && pattern[j] != ']'; ++j)
        if (pattern[j] == '\\') ++j;
      i = j;
    } else if (c == '(') {
      group_repeats.push_back(false);
    } else if (c == ')' && group_repeats.size() > 1) {
      last_closed_repeats = group_repeats.back();
      group_repeats.pop_back();
      if (last_closed_repeats) group_repeats.back() = true;
    } else if (c == '|') {
      group_repeats.back() = true;
    }
  }
}

}  // namespace

QuantizationInfo::Target QuantizationInfo::target(const nlohmann::json& j, const std::string& where) const {
  if (!j.is_string()) fail(where, ": ", j.dump().substr(0, 40), " is not a string");
  Target t{j.get<std::string>(), nullptr};
  if (t.text.rfind("re:", 0) == 0) {
    check_target_regex(t.text.substr(3), where);
    try {
      t.re = std::make_shared<const std::regex>(t.text.substr(3));
    } catch (const std::regex_error& e) {
      fail(where, ": \"", printable(t.text), "\" is not a regular expression: ", e.what());
    }
  }
  return t;
}

bool QuantizationInfo::Target::matches(const std::string& name) const {
  return re ? std::regex_match(name, *re) : text == name || text == "Linear";
}

std::optional<QuantScheme> QuantizationInfo::scheme_for(const std::string& name) const {
  for (const auto& i : ignore_)
    if (i.matches(name)) return std::nullopt;
  for (const auto& g : groups_)
    for (const auto& t : g.targets)
      if (t.matches(name)) return g.scheme;
  return std::nullopt;
}

Linear Linear::load(const CheckpointReader& ckpt, const QuantizationInfo& quant,
                    const std::string& name, int64_t out, int64_t in, bool with_bias,
                    WeightLayout layout) {
  Linear l;
  l.name_ = name;
  l.out_ = out;
  l.in_ = in;
  const auto scheme = quant.scheme_for(name);
  const std::string packed_name = name + ".weight_packed";
  if (scheme) {
    l.bits_ = scheme->bits;
    l.scheme_ = *scheme;
    expect_shape(ckpt, packed_name, {out, packed_int32_cols(in, l.bits_)});
    const auto packed = ckpt.view(packed_name);
    if (!packed || packed->dtype != DType::I32)
      fail(ckpt.path(), ": tensor ", packed_name, " is not I32");
    l.groups_ = scheme->granularity == Granularity::PerGroup
                    ? (in + scheme->group_size - 1) / scheme->group_size
                    : 1;
    const Shape scale_shape = scheme->granularity == Granularity::PerTensor ? Shape{1}
                                                                             : Shape{out, l.groups_};
    expect_shape(ckpt, name + ".weight_scale", scale_shape);
    l.scales_ = float_tensor(ckpt, name + ".weight_scale", l.owned_);
    if (!scheme->symmetric) {
      const std::string zp_name = name + ".weight_zero_point";
      const auto zp = ckpt.view(zp_name);
      if (scheme->granularity == Granularity::PerTensor) {
        expect_shape(ckpt, zp_name, {1});
        if (!zp || zp->dtype != DType::I8) fail(ckpt.path(), ": tensor ", zp_name, " is not I8");
        l.zero_points_.assign(1, *static_cast<const int8_t*>(zp->data));
      } else {
        // Packed along dim 0: [ceil(out * b / 32), groups].
        expect_shape(ckpt, zp_name, {packed_int32_cols(out, l.bits_), l.groups_});
        if (!zp || zp->dtype != DType::I32) fail(ckpt.path(), ": tensor ", zp_name, " is not I32");
        l.zero_points_ = unpack_zero_points_dim0(static_cast<const int32_t*>(zp->data), out, l.groups_, l.bits_);
      }
    }
  } else if (layout == WeightLayout::InOut) {
    expect_shape(ckpt, name + ".weight", {in, out});
    const std::vector<float> w = ckpt.read_f32(name + ".weight");
    l.owned_ = std::make_shared<std::vector<float>>(w.size());
    for (int64_t i = 0; i < in; ++i)
      for (int64_t o = 0; o < out; ++o) (*l.owned_)[size_t(o * in + i)] = w[size_t(i * out + o)];
    l.weight_ = TensorView{DType::F32, {out, in}, l.owned_->data()};
  } else {
    expect_shape(ckpt, name + ".weight", {out, in});
    l.weight_ = float_tensor(ckpt, name + ".weight", l.owned_);
  }
  if (with_bias) {
    expect_shape(ckpt, name + ".bias", {out});
    l.bias_ = ckpt.read_f32(name + ".bias");
  }
  if (l.quantized()) {
    l.matrix_ = quantized_matrix_view(name, *ckpt.view(packed_name), l.scales_,
                                      l.zero_points_.empty() ? nullptr : l.zero_points_.data(), in,
                                      l.bits_, l.scheme_.granularity == Granularity::PerGroup
                                                   ? l.scheme_.group_size
                                                   : 0);
    if (!has_simd_kernel(l.matrix_)) {
      // No kernel of this width's own (3 bits) yet: its codes are repacked
      // once at load to 4 bits, the same integers with the same scales and
      // zero-points, and run on the 4-bit kernels (4 bits per weight in
      // memory instead of f32's 32; the scalar reference is ~100x slower).
      validate(l.matrix_, name.c_str());
      auto& view = std::get<QuantizedMatrixView>(l.matrix_);
      l.owned_codes_ = std::make_shared<std::vector<int32_t>>(widen_codes(view, 4));
      view.bits = 4;
      view.packed = l.owned_codes_->data();
      ckpt.release(packed_name);  // the 3-bit words are no longer read
    }
  } else {
    l.matrix_ = FloatMatrixView{l.weight_.dtype, out, in, l.weight_.data};
  }
  validate(l.matrix_, name.c_str());
  return l;
}

void Linear::row(int64_t r, float* out) const { weight_row_f32(matrix_, r, out); }

ScopedLinearHook::ScopedLinearHook(LinearHook* hook) : previous_(current_hook) {
  current_hook = hook;
}

ScopedLinearHook::~ScopedLinearHook() { current_hook = previous_; }

void Linear::forward(const float* x, int64_t n, float* y, ThreadPool& pool) const {
  const float* bias = bias_.empty() ? nullptr : bias_.data();
  const WeightMatrix* w = &matrix_;
  if (LinearHook* hook = current_hook) {
    hook->observe(*this, x, n);
    if (const WeightMatrix* r = hook->replacement(*this)) w = r;
  }
  if (n == 1)
    matvec(*w, x, DType::F32, bias, y, pool);
  else
    matmul(*w, x, DType::F32, n, bias, y, pool);
}

}  // namespace wquant
