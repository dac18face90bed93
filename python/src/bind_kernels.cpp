// wquant's linear-layer kernels on tensors that Python owns: what
// wquant.torch's QuantizedLinear runs in forward on CPU. A LinearKernel is
// built once per layer from the layer's compressed-tensors buffers (viewed
// in place, zero-points unpacked once) and then called per forward with the
// activations and an output array.
#include <nanobind/stl/optional.h>

#include <memory>
#include <mutex>
#include <optional>

#include "common.h"
#include "wquant/kernels/linear.h"
#include "wquant/kernels/thread_pool.h"
#include "wquant/kernels/weight_matrix.h"
#include "wquant/quant/pack.h"

namespace wquant::python {
namespace {

// The pool every LinearKernel runs on, rebuilt when the thread count
// changes. Shared: a call still running on the old pool keeps it alive
// (calls come from any Python thread, without the GIL).
std::shared_ptr<ThreadPool> kernel_pool() {
  static std::mutex mutex;
  static std::shared_ptr<ThreadPool> pool;
  const size_t want = default_thread_count();
  std::lock_guard<std::mutex> lock(mutex);
  if (!pool || pool->num_threads() != want) pool = std::make_shared<ThreadPool>(want);
  return pool;
}

class LinearKernel {
 public:
  // packed: int32 [out, ceil(in * bits / 32)]; scales: f32/f16/bf16 [1],
  // [out, 1] or [out, groups]; zero_points: None, or as compressed-tensors
  // stores them (int8 [1] per tensor, else int32 [ceil(out * bits / 32),
  // groups]); bias: None or float [out]. The arrays must not change while
  // the kernel lives (the Python side keeps them and rebuilds on change).
  LinearKernel(AnyArray packed, AnyArray scales, std::optional<AnyArray> zero_points, int bits,
               int64_t group_size, int64_t in_features, std::optional<AnyArray> bias)
      : packed_(packed), scales_(scales) {
    if (packed.ndim() != 2) fail("weight_packed must be 2-D");
    const int64_t out = int64_t(packed.shape(0));
    if (array_dtype(packed, "weight_packed") != DType::I32) fail("weight_packed must be int32");
    const DType sd = array_dtype(scales, "weight_scale");
    Shape scale_shape;
    for (size_t i = 0; i < scales.ndim(); ++i) scale_shape.push_back(int64_t(scales.shape(i)));
    const int64_t groups = group_size > 0 ? (in_features + group_size - 1) / group_size : 1;
    if (zero_points) {
      const DType zd = array_dtype(*zero_points, "weight_zero_point");
      if (zero_points->size() == 1 && zd == DType::I8) {
        zp_.assign(1, *static_cast<const int8_t*>(zero_points->data()));
      } else {
        if (zd != DType::I32 || zero_points->ndim() != 2 ||
            int64_t(zero_points->shape(0)) != packed_int32_cols(out, bits) || int64_t(zero_points->shape(1)) != groups)
          fail("weight_zero_point must be int32 [", packed_int32_cols(out, bits), ", ", groups, "]");
        zp_ = unpack_zero_points_dim0(static_cast<const int32_t*>(zero_points->data()), out, groups, bits);
      }
    }
    const TensorView packed_view{DType::I32, {out, int64_t(packed.shape(1))}, packed.data()};
    const TensorView scale_view{sd, scale_shape, scales.data()};
    view_ = quantized_matrix_view("LinearKernel", packed_view, scale_view, zp_.empty() ? nullptr : zp_.data(),
                                  in_features, bits, group_size);
    if (!has_simd_kernel(view_)) {  // 3 bits: the 4-bit kernels on widened codes, as models do
      widened_ = widen_codes(view_, 4);
      view_.bits = 4;
      view_.packed = widened_.data();
    }
    validate(WeightMatrix(view_), "LinearKernel");
    if (bias) {
      if (bias->size() != size_t(out)) fail("bias has ", bias->size(), " values, the layer ", out, " outputs");
      const DType bd = array_dtype(*bias, "bias");
      if (!is_float(bd)) fail("bias must be float");
      bias_ = to_f32(TensorView{bd, {out}, bias->data()});
    }
  }

  int64_t in_features() const { return view_.cols; }
  int64_t out_features() const { return view_.rows; }

  // y [n, out] (float32) = x [n, in] (f32/f16/bf16) W^T + bias.
  void run(const AnyArray& x, AnyArray y) const {
    const DType xd = array_dtype(x, "x");
    if (xd != DType::F32 && xd != DType::F16 && xd != DType::BF16)
      fail("x must be float32, float16 or bfloat16, not ", dtype_name(xd));
    if (x.ndim() != 2 || int64_t(x.shape(1)) != view_.cols)
      fail("x must be [n, ", view_.cols, "]");
    const int64_t n = int64_t(x.shape(0));
    if (array_dtype(y, "out") != DType::F32 || y.ndim() != 2 || int64_t(y.shape(0)) != n ||
        int64_t(y.shape(1)) != view_.rows)
      fail("out must be float32 [", n, ", ", view_.rows, "]");
    const WeightMatrix w(view_);
    const float* bias = bias_.empty() ? nullptr : bias_.data();
    auto* out = static_cast<float*>(y.data());
    nb::gil_scoped_release release;
    const std::shared_ptr<ThreadPool> pool = kernel_pool();
    if (n == 1)
      matvec(w, x.data(), xd, bias, out, *pool);
    else
      matmul(w, x.data(), xd, n, bias, out, *pool);
  }

 private:
  AnyArray packed_, scales_;  // keep the viewed buffers referenced
  std::vector<int8_t> zp_;
  std::vector<int32_t> widened_;
  std::vector<float> bias_;
  QuantizedMatrixView view_;
};

}  // namespace

void bind_kernels(nb::module_& m) {
  nb::class_<LinearKernel>(m, "LinearKernel", "wquant's CPU kernels over one quantized layer's buffers.")
      .def(nb::init<AnyArray, AnyArray, std::optional<AnyArray>, int, int64_t, int64_t, std::optional<AnyArray>>(),
           nb::arg("weight_packed"), nb::arg("weight_scale"), nb::arg("weight_zero_point").none(), nb::arg("bits"),
           nb::arg("group_size"), nb::arg("in_features"), nb::arg("bias").none())
      .def_prop_ro("in_features", &LinearKernel::in_features)
      .def_prop_ro("out_features", &LinearKernel::out_features)
      .def("__call__", &LinearKernel::run, nb::arg("x"), nb::arg("out"),
           "Writes x [n, in] W^T + bias to out (float32 [n, out]).");
}

}  // namespace wquant::python
