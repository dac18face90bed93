// Target selection for the kernels' HWY_DYNAMIC_DISPATCH (simd_target.h).

// foreach_target.h re-includes this file once per target. The path must be
// reachable from an include directory; include/ is the only one, hence "../src".
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "../src/kernels/simd_target.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace wquant {
namespace HWY_NAMESPACE {

// Returns the name of the target this copy was compiled for.
const char* CompiledTargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace wquant
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <cstdlib>
#include <mutex>

#include "wquant/core/error.h"
#include "wquant/kernels/simd_target.h"

namespace wquant {
HWY_EXPORT(CompiledTargetName);

namespace {

// Returns the targets compiled here (HWY_TARGETS) that the CPU supports, as
// Highway bits, best first (a lower bit is a better target). Computed once,
// before any forcing: hwy::SupportedTargets() reports the forced set afterwards.
const std::vector<int64_t>& available_bits() {
  static const std::vector<int64_t> bits = [] {
    std::vector<int64_t> out;
    for (int64_t t = hwy::SupportedTargets() & HWY_TARGETS; t != 0; t &= t - 1) {
      out.push_back(t & -t);  // lowest set bit = best remaining target
    }
    return out;
  }();
  return bits;
}

std::once_flag env_once;

void force_bits(std::string_view name) {
  if (name.empty()) {
    hwy::SetSupportedTargetsForTest(0);  // back to what the CPU supports
    return;
  }
  std::string names;
  for (int64_t bit : available_bits()) {
    if (name == hwy::TargetName(bit)) {
      hwy::SetSupportedTargetsForTest(bit);  // also makes dispatch choose again
      return;
    }
    names += names.empty() ? "" : ", ";
    names += hwy::TargetName(bit);
  }
  fail("SIMD target '", name, "' is not available on this machine; available: ", names);
}

}  // namespace

std::vector<std::string> available_simd_targets() {
  std::vector<std::string> names;
  for (int64_t bit : available_bits()) names.emplace_back(hwy::TargetName(bit));
  return names;
}

void init_simd_target_from_env() {
  std::call_once(env_once, [] {
    available_bits();  // before anything is forced
    if (const char* env = std::getenv("WQUANT_FORCE_TARGET")) {
      try {
        force_bits(env);
      } catch (const Error& e) {
        fail("WQUANT_FORCE_TARGET: ", e.what());
      }
    }
  });
}

void force_simd_target(std::string_view name) {
  init_simd_target_from_env();
  force_bits(name);
}

std::string active_simd_target() {
  init_simd_target_from_env();
  return HWY_DYNAMIC_DISPATCH(CompiledTargetName)();
}

}  // namespace wquant
#endif  // HWY_ONCE
