// Shared by the binding files of the _wquant extension module: NumPy
// arrays in and out, and running library calls without the GIL while
// letting Ctrl-C through.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "wquant/core/dtype.h"
#include "wquant/core/error.h"

namespace wquant::python {

namespace nb = nanobind;

// Any CPU array (NumPy, or a torch tensor through DLPack), C-contiguous.
using AnyArray = nb::ndarray<nb::device::cpu, nb::c_contig>;

// Returns the wquant dtype of an array: F32, F16, BF16, I8, I32, I64, U8, F64.
// Throws Error naming `what` otherwise.
DType array_dtype(const AnyArray& a, const char* what);

// Returns a NumPy array that owns `values`, of shape `shape`.
template <typename T>
nb::ndarray<nb::numpy, T> to_numpy(std::vector<T> values, std::vector<size_t> shape) {
  auto* owned = new std::vector<T>(std::move(values));
  nb::capsule deleter(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T>(owned->data(), shape.size(), shape.data(), deleter);
}

// Raises KeyboardInterrupt (as nb::python_error) if Ctrl-C was pressed.
// Call with the GIL held.
inline void check_signals() {
  if (PyErr_CheckSignals() != 0) throw nb::python_error();
}

// Calls `progress` (a Python callable or None) with args, and checks for
// Ctrl-C; takes the GIL for it. For callbacks the library calls from a
// long call that released the GIL.
template <typename... Args>
void report_progress(const nb::object& progress, Args&&... args) {
  nb::gil_scoped_acquire gil;
  check_signals();
  if (!progress.is_none()) progress(std::forward<Args>(args)...);
}

void bind_quantize(nb::module_& m);
void bind_model(nb::module_& m);
void bind_kernels(nb::module_& m);

}  // namespace wquant::python
