// Scalar f32 building blocks of the transformer layers (reference versions;
// SIMD ones belong to the kernels layer and are tested against these).
#pragma once

#include <cstdint>
#include <vector>

namespace wquant::ops {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i], for n values.
void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out);

// Rotates `heads` vectors of head_dim values at position `pos` in place, the
// Hugging Face "rotate_half" way: pairs (i, i + head_dim / 2), angle
// pos * theta^(-2i / head_dim), computed in f32 as transformers does.
void rope(float* x, int64_t heads, int64_t head_dim, int64_t pos, float theta);

// x[i] = exp(x[i] - max) / sum, for n values.
void softmax(float* x, int64_t n);

// One attention head for one query: out [head_dim] = softmax(q . k_j *
// scale) weighted sum of v_j over the first n_keys keys; key/value j starts
// at keys + j * stride / values + j * stride. `scores` is scratch space.
void attend(const float* q, const float* keys, const float* values, int64_t n_keys,
            int64_t stride, int64_t head_dim, float scale, std::vector<float>& scores, float* out);

// Returns x * sigmoid(x).
float silu(float x);

}  // namespace wquant::ops
