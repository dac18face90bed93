// The _wquant extension module: a thin layer over the C++ library, which
// python/wquant/ wraps into the documented Python API. Library errors
// become wquant.Error with the CLI's message.
#include <nanobind/stl/string.h>

#include "common.h"
#include "wquant/kernels/simd_target.h"
#include "wquant/kernels/thread_pool.h"

namespace wquant::python {

DType array_dtype(const AnyArray& a, const char* what) {
  const auto d = a.dtype();
  using C = nb::dlpack::dtype_code;
  if (d.lanes != 1) fail(what, ": vector dtypes are not supported");
  if (d.code == uint8_t(C::Float) && d.bits == 32) return DType::F32;
  if (d.code == uint8_t(C::Float) && d.bits == 64) return DType::F64;
  if (d.code == uint8_t(C::Float) && d.bits == 16) return DType::F16;
  if (d.code == uint8_t(C::Bfloat) && d.bits == 16) return DType::BF16;
  if (d.code == uint8_t(C::Int) && d.bits == 8) return DType::I8;
  if (d.code == uint8_t(C::Int) && d.bits == 32) return DType::I32;
  if (d.code == uint8_t(C::Int) && d.bits == 64) return DType::I64;
  if (d.code == uint8_t(C::UInt) && d.bits == 8) return DType::U8;
  fail(what, ": unsupported dtype (code ", int(d.code), ", ", int(d.bits), " bits)");
}

}  // namespace wquant::python

NB_MODULE(_wquant, m) {
  namespace nb = nanobind;
  using namespace wquant::python;
  m.doc() = "wquant's C++ library (use the `wquant` package, which wraps this module)";
  static nb::exception<wquant::Error> error(m, "Error", PyExc_RuntimeError);
  m.attr("__version__") = "0.1.0";
  m.def("set_num_threads", [](size_t n) { wquant::set_default_thread_count(n); }, nb::arg("n"),
        "Sets the threads of models loaded and kernels run from now on (0: WQUANT_THREADS, else one per core).");
  m.def("get_num_threads", &wquant::default_thread_count, "Returns the threads models loaded from now on use.");
  m.def("simd_target", &wquant::active_simd_target, "Returns the SIMD instruction set the kernels run on (e.g. AVX2).");
  bind_quantize(m);
  bind_model(m);
  bind_kernels(m);
}
