// Weight views: the packed layout as the kernels read it, scale indexing,
// validation, and views built from compressed-tensors checkpoint tensors.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "wquant/core/error.h"
#include "wquant/core/half.h"
#include "wquant/kernels/linear.h"
#include "wquant/kernels/weight_matrix.h"
#include "wquant/quant/pack.h"

namespace wquant {
namespace {

// Returns the message of the Error that fn throws ("" if none).
template <class Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// 4 bits, one row of 9 values q = [-8, 7, 0, 1, -1, 2, 3, 4, 5]:
// u = q + 8 = [0, 15, 8, 9, 7, 10, 11, 12, 13], two per byte, low nibble first:
//   bytes 0xF0, 0x98, 0xA7, 0xCB, 0x0D (then zero padding to 2 words).
TEST(PackedQuantizedMatrix, PinsTheCompressedTensorsLayout) {
  QuantizedTensor t;
  t.scheme = test::make_scheme(4, Granularity::PerTensor, true);
  t.rows = 1;
  t.cols = 9;
  t.q = {-8, 7, 0, 1, -1, 2, 3, 4, 5};
  t.scales = {0.5f};
  t.scale_rows = t.scale_cols = 1;
  const PackedQuantizedMatrix m(t, DType::F16);
  const QuantizedMatrixView v = m.view();
  ASSERT_EQ(v.row_words(), 2);
  uint8_t bytes[8];
  std::memcpy(bytes, v.packed, 8);
  EXPECT_EQ(std::vector<uint8_t>(bytes, bytes + 8),
            (std::vector<uint8_t>{0xF0, 0x98, 0xA7, 0xCB, 0x0D, 0, 0, 0}));
  EXPECT_EQ(v.scale_dtype, DType::F16);
  EXPECT_EQ(v.scale_at(0), 0.5f);
  EXPECT_EQ(v.zero_points, nullptr);
  EXPECT_EQ(v.n_groups(), 1);
  EXPECT_EQ(v.describe(), "w4 per-tensor sym [1, 9]");
}

TEST(QuantizedMatrixView, ScaleIndexing) {
  QuantizedMatrixView v;
  v.rows = 3;
  v.cols = 10;
  v.granularity = Granularity::PerGroup;
  v.group_size = 4;  // groups [0, 4), [4, 8), [8, 10)
  EXPECT_EQ(v.n_groups(), 3);
  EXPECT_EQ(v.group_cols(), 4);
  EXPECT_EQ(v.scale_index(2, 1), 7);
  v.granularity = Granularity::PerChannel;
  v.group_size = 0;
  EXPECT_EQ(v.n_groups(), 1);
  EXPECT_EQ(v.group_cols(), 10);
  EXPECT_EQ(v.scale_index(2, 0), 2);
  v.granularity = Granularity::PerTensor;
  EXPECT_EQ(v.scale_index(2, 0), 0);
}

TEST(QuantizedMatrixView, ScaleAtReadsEveryDTypeUnaligned) {
  const float values[] = {1.5f, -0.375f, 96.0f};
  for (DType d : {DType::F32, DType::F16, DType::BF16}) {
    std::vector<float> aligned(3);  // from_f32 needs an aligned output
    from_f32(values, 3, d, aligned.data());
    std::vector<uint8_t> buf(1 + 3 * dtype_size(d));
    std::memcpy(buf.data() + 1, aligned.data(), 3 * dtype_size(d));
    QuantizedMatrixView v;
    v.scale_dtype = d;
    v.scales = buf.data() + 1;
    for (int i = 0; i < 3; ++i) EXPECT_EQ(v.scale_at(i), values[i]) << dtype_name(d);
  }
}

TEST(WeightMatrix, ValidateNamesTheProblem) {
  const int32_t words[1] = {0};
  const float scale = 1.0f;
  QuantizedMatrixView q;
  q.rows = q.cols = 1;
  q.packed = words;
  q.scales = &scale;
  EXPECT_NO_THROW(validate(q, "here"));
  q.bits = 5;
  EXPECT_NE(error_of([&] { validate(q, "here"); }).find("here: quantized weight bits = 5"),
            std::string::npos);
  q.bits = 4;
  q.granularity = Granularity::PerGroup;
  EXPECT_NE(error_of([&] { validate(q, "here"); }).find("group_size > 0"), std::string::npos);
  q.granularity = Granularity::PerChannel;
  q.scale_dtype = DType::I8;
  EXPECT_NE(error_of([&] { validate(q, "here"); }).find("scale dtype I8"), std::string::npos);
  q.scale_dtype = DType::F32;
  q.packed = nullptr;
  EXPECT_NE(error_of([&] { validate(q, "here"); }).find("missing"), std::string::npos);
  EXPECT_NE(error_of([&] { validate(FloatMatrixView{DType::I32, 1, 1, words}, "f"); })
                .find("f: float weight dtype I32"),
            std::string::npos);
  EXPECT_NO_THROW(validate(FloatMatrixView{DType::BF16, 0, 5, nullptr}, "empty"));
  EXPECT_EQ(out_features(FloatMatrixView{DType::F16, 7, 5, words}), 7);
  EXPECT_EQ(in_features(WeightMatrix(q)), 1);
}

TEST(PackedQuantizedMatrix, RejectsPerChannelAlongColumns) {
  const std::vector<float> w = {1.0f, -2.0f, 3.0f, 4.0f};
  QuantScheme s = test::make_scheme(8, Granularity::PerChannel, true);
  s.channel_axis = 1;
  const QuantizedTensor t = quantize(w.data(), 2, 2, s);
  EXPECT_NE(error_of([&] { PackedQuantizedMatrix m(t); }).find("along the input axis"),
            std::string::npos);
}

// Checkpoint tensors of one layer [out = 3, in = 20], 4 bits: 3 words per row.
struct LayerTensors {
  std::vector<int32_t> packed = std::vector<int32_t>(9, 0);
  std::vector<uint16_t> scales = std::vector<uint16_t>(6, 0x3c00);  // F16 1.0
  TensorView packed_view(Shape shape = {3, 3}) { return {DType::I32, shape, packed.data()}; }
  TensorView scale_view(Shape shape) { return {DType::F16, shape, scales.data()}; }
};

TEST(QuantizedMatrixViewFromCheckpoint, InfersGranularityFromTheScaleShape) {
  LayerTensors l;
  const int8_t zp[6] = {};
  QuantizedMatrixView v = quantized_matrix_view("L", l.packed_view(), l.scale_view({1}), nullptr,
                                                20, 4, 0);
  EXPECT_EQ(v.granularity, Granularity::PerTensor);
  v = quantized_matrix_view("L", l.packed_view(), l.scale_view({3, 1}), zp, 20, 4, 0);
  EXPECT_EQ(v.granularity, Granularity::PerChannel);
  EXPECT_EQ(v.zero_points, zp);
  v = quantized_matrix_view("L", l.packed_view(), l.scale_view({3, 2}), nullptr, 20, 4, 16);
  EXPECT_EQ(v.granularity, Granularity::PerGroup);
  EXPECT_EQ(v.n_groups(), 2);
  EXPECT_EQ(v.rows, 3);
  EXPECT_EQ(v.cols, 20);
  EXPECT_EQ(v.scale_dtype, DType::F16);
  EXPECT_EQ(v.packed, l.packed.data());  // zero-copy
}

TEST(QuantizedMatrixViewFromCheckpoint, RejectsMismatchedTensors) {
  LayerTensors l;
  EXPECT_NE(error_of([&] {
              quantized_matrix_view("model.q_proj", l.packed_view({3, 2}), l.scale_view({3, 1}),
                                    nullptr, 20, 4, 0);
            }).find("model.q_proj.weight_packed: [3, 2] does not hold 20 columns of 4 bits"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              quantized_matrix_view("L", l.packed_view(), l.scale_view({3, 1}), nullptr, 20, 4,
                                    16);
            }).find("L.weight_scale: [3, 1] does not match w4 g16"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              quantized_matrix_view("L", TensorView{DType::I64, {3, 3}, l.packed.data()},
                                    l.scale_view({3, 1}), nullptr, 20, 4, 0);
            }).find("expected a 2-D I32 tensor"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              quantized_matrix_view("L", l.packed_view(), TensorView{DType::I8, {3, 1},
                                    l.scales.data()}, nullptr, 20, 4, 0);
            }).find("scale dtype I8"),
            std::string::npos);
}

}  // namespace
}  // namespace wquant

namespace wquant {
namespace {

// widen_codes keeps every integer: the widened view dequantizes, row by row,
// to exactly the original's values, for 2 and 3 bits (3 straddles words) to
// 4 and 8, per channel and per group, symmetric and asymmetric, widths that
// do and do not fill a word; and the words are those pack_int32_rows writes.
TEST(WidenCodes, SameIntegersAtMoreBits) {
  for (int from : {2, 3}) {
    for (int to : {4, 8}) {
      for (bool symmetric : {true, false}) {
        for (int64_t cols : {int64_t(32), int64_t(45), int64_t(96)}) {
          const int64_t rows = 5;
          const auto w = test::random_floats(size_t(rows * cols), 0.0f, 1.0f, uint32_t(cols + from));
          const QuantScheme scheme = test::make_scheme(from, Granularity::PerGroup, symmetric, 16);
          const QuantizedTensor t = quantize(w.data(), rows, cols, scheme);
          const PackedQuantizedMatrix m(t);
          QuantizedMatrixView v = m.view();
          const std::vector<int32_t> wide = widen_codes(v, to);
          EXPECT_EQ(wide, pack_int32_rows(t.q.data(), rows, cols, to));
          QuantizedMatrixView widened = v;
          widened.bits = to;
          widened.packed = wide.data();
          std::vector<float> a(static_cast<size_t>(cols)), b(static_cast<size_t>(cols));
          for (int64_t r = 0; r < rows; ++r) {
            weight_row_f32(v, r, a.data());
            weight_row_f32(widened, r, b.data());
            EXPECT_EQ(a, b) << from << " -> " << to << " bits, row " << r;
          }
        }
      }
    }
  }
  QuantizedMatrixView v = PackedQuantizedMatrix(quantize(std::vector<float>(32, 1.0f).data(), 1, 32,
                                                         test::make_scheme(4, Granularity::PerChannel, true)))
                              .view();
  EXPECT_NE(error_of([&] { widen_codes(v, 4); }).find("from 4 to 4 bits"), std::string::npos);
}

}  // namespace
}  // namespace wquant
