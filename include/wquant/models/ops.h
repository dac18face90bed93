// Scalar f32 building blocks of the transformer layers (reference versions;
// SIMD ones belong to the kernels layer and are tested against these).
#pragma once

#include <cstdint>
#include <string>

namespace wquant::ops {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i], for n values.
void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out);

// Rotates `heads` vectors of head_dim values at position `pos` in place, the
// Hugging Face "rotate_half" way: pairs (i, i + head_dim / 2), angle
// pos * theta^(-2i / head_dim), computed in f32 as transformers does.
// rotary_dim < head_dim (Phi-3's partial_rotary_factor): only the first
// rotary_dim values of each head turn, pairs (i, i + rotary_dim / 2), angle
// pos * theta^(-2i / rotary_dim); the rest pass unchanged.
void rope(float* x, int64_t heads, int64_t head_dim, int64_t pos, float theta,
          int64_t rotary_dim = 0);

// out[i] = (x[i] - mean) / sqrt(var + eps) * weight[i] + bias[i], var the
// biased variance, as torch.nn.LayerNorm computes it; weight / bias nullptr
// mean 1 / 0 (a LayerNorm without elementwise affine). out may equal x.
void layer_norm(const float* x, const float* weight, const float* bias, int64_t n, float eps,
                float* out);

// Rotates the first rotary_dim values of `heads` vectors of head_dim values
// at position `pos` in place, the GPT-J / CodeGen "rotate_every_two" way:
// pairs (2i, 2i + 1), angle pos * 10000^(-2i / rotary_dim) in f32.
void rope_interleaved(float* x, int64_t heads, int64_t head_dim, int64_t rotary_dim, int64_t pos);

// x[i] = exp(x[i] - max) / sum, for n values.
void softmax(float* x, int64_t n);

// (Attention is a kernel: wquant/kernels/attention.h.)

// Returns x * sigmoid(x).
float silu(float x);

// Returns GELU(x) = x * Phi(x), exact (erf) form: transformers' "gelu".
float gelu(float x);

// Returns the tanh approximation of GELU, transformers' "gelu_new" (GPT-2,
// CodeGen) and "gelu_pytorch_tanh".
float gelu_tanh(float x);

// The activation named by a config's activation_function / hidden_act.
enum class Activation { Gelu, GeluTanh, Relu, Silu };

// Returns the activation for `name` ("gelu", "gelu_new", "gelu_pytorch_tanh",
// "relu", "silu"), or throws Error naming `where` and the supported names.
Activation activation_from_name(const std::string& name, const std::string& where);

// Applies `act` to x [n] in place.
void activate(Activation act, float* x, int64_t n);

}  // namespace wquant::ops
