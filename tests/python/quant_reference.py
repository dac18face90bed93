"""An independent float32 numpy reference of wquant's documented quantization
rule (include/wquant/quant/scheme.h), written from the documentation, not
from the C++ code:

  symmetric:  qmax = 2^(b-1) - 1, scale = max|w| / qmax, zp = 0, q in [-qmax, qmax]
  asymmetric: lo = min(w, 0), hi = max(w, 0), scale = (hi - lo) / (2^b - 1),
              zp = clip(rint(qmin - lo / scale), qmin, qmax), qmin = -2^(b-1)
  scale is rounded to the checkpoint's float dtype first; a zero scale becomes 1
  q = clip(rint(w / scale + zp), lo_q, hi_q)   (rint: round half to even)
All arithmetic in float32, in this order.
"""
import numpy as np


def _round_to(x: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "float32":
        return x.astype(np.float32)
    if dtype == "float16":
        return x.astype(np.float16).astype(np.float32)
    if dtype == "bfloat16":
        import torch
        return torch.from_numpy(x.astype(np.float32)).to(torch.bfloat16).to(torch.float32).numpy()
    raise ValueError(dtype)


def quantize_reference(w: np.ndarray, bits: int, strategy: str, group_size: int | None,
                       symmetric: bool, scale_dtype: str = "float32"):
    """Returns (q int8 [rows, cols], scale f32 [rows, ngroups], zp int8 [rows, ngroups])
    for a [rows, cols] float32 weight. strategy: tensor | channel | group."""
    w = np.asarray(w, dtype=np.float32)
    rows, cols = w.shape
    if strategy == "tensor":
        g = w.reshape(1, 1, -1)
    elif strategy == "channel":
        g = w.reshape(rows, 1, cols)
    else:
        ng = -(-cols // group_size)
        padded = np.full((rows, ng * group_size), np.nan, dtype=np.float32)
        padded[:, :cols] = w
        g = padded.reshape(rows, ng, group_size)
    qmax = (1 << (bits - 1)) - 1
    if symmetric:
        amax = np.nanmax(np.abs(g), axis=2)
        scale = (amax / np.float32(qmax)).astype(np.float32)
        qmin = -qmax
    else:
        qmin = -(1 << (bits - 1))
        lo = np.minimum(np.nanmin(g, axis=2), np.float32(0))
        hi = np.maximum(np.nanmax(g, axis=2), np.float32(0))
        scale = ((hi - lo) / np.float32((1 << bits) - 1)).astype(np.float32)
    scale = _round_to(scale, scale_dtype)
    scale[scale == 0] = 1.0
    if symmetric:
        zp = np.zeros_like(scale, dtype=np.int8)
    else:
        zp = np.clip(np.rint(np.float32(qmin) - lo / scale), qmin, qmax).astype(np.int8)
    q = np.rint(g / scale[:, :, None] + zp[:, :, None].astype(np.float32))
    q = np.clip(q, qmin, qmax)
    q = q.reshape(g.shape[0], -1) if strategy != "tensor" else q.reshape(rows, cols)
    if strategy == "group":
        q = q.reshape(rows, -1)[:, :cols]
    elif strategy == "channel":
        q = q.reshape(rows, cols)
    return q.astype(np.int8), scale, zp
