// Which SIMD target the kernels run on. Highway compiles each kernel for
// several targets (x86: AVX3, AVX2, SSE4, SSSE3, EMU128; Arm: SVE, NEON...)
// and HWY_DYNAMIC_DISPATCH picks the best one the CPU supports. These
// functions restrict that choice, for tests (run every target) and
// benchmarks. The environment variable WQUANT_FORCE_TARGET=NAME (e.g. SSE4)
// forces a target for the whole process; it is read once, at the first
// kernel call or call below, and an explicit force_simd_target wins over it.
//
// The choice is process-wide (it is Highway's); change it only while no
// kernel runs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wquant {

// Returns the names of the targets compiled into the kernels that this CPU
// supports, best first ("AVX2", "SSE4", "SSSE3", "EMU128" on an AVX2 machine).
std::vector<std::string> available_simd_targets();

// Makes the kernels run on target `name` (one of available_simd_targets());
// an empty name restores the default (the best target). Throws Error naming
// the available targets if `name` is not one of them.
void force_simd_target(std::string_view name);

// Returns the name of the target the kernels dispatch to now.
std::string active_simd_target();

// Applies WQUANT_FORCE_TARGET on the first call; does nothing afterwards.
// The kernel entry points call it. Throws Error if the variable names an
// unavailable target.
void init_simd_target_from_env();

}  // namespace wquant
