"""wquant for live PyTorch models: the seeds' one-line layer replacement
(``replace_linear_with_target_and_quantize(model, W8A16LinearLayer,
["lm_head"])``) on wquant's quantizer and CPU kernels.

>>> report = wquant.torch.quantize_linear_layers(model, bits=8, exclude=["lm_head"])
>>> model.get_memory_footprint()          # packed weights are buffers: it drops
>>> wquant.torch.save_compressed(model, "out")   # transformers reloads it

Each ``nn.Linear`` (and GPT-2's ``Conv1D``) becomes a :class:`QuantizedLinear`
holding the compressed-tensors tensors as buffers (``weight_packed``,
``weight_scale``, ``weight_zero_point``, ``weight_shape``), so the model's
state_dict is the checkpoint's. Forward runs wquant's kernels on CPU
tensors (float32 / float16 / bfloat16 activations, no autograd), and a
dequantizing torch path elsewhere (other devices, gradients).

Threads: the kernels run on wquant's own pool (``wquant.set_num_threads``,
default one per core). For decoding, give torch one thread
(``torch.set_num_threads(1)``): torch's OpenMP threads and wquant's both
spinning on the same cores halve the speed (SmolLM2 W8 on 2 cores: torch 1 +
wquant 2 threads 31.8 tok/s, torch 2 + wquant 2 17.4).
"""
from __future__ import annotations

import fnmatch
import json
import os
import shutil
import tempfile
from typing import Iterable

import numpy as np
import torch
from torch import nn

from . import Error, _wquant

_TORCH_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
                 "I8": torch.int8, "I32": torch.int32, "I64": torch.int64}
_SCALE_DTYPE_NAMES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}
_KERNEL_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def _unpack_rows(packed: torch.Tensor, cols: int, bits: int) -> torch.Tensor:
    """The signed integers [rows, cols] of int32 rows packed as
    compressed-tensors' pack_to_int32 does (wquant/quant/pack.h), in torch
    ops on any device."""
    words = packed.to(torch.int64) & 0xFFFFFFFF
    pos = torch.arange(cols, device=packed.device, dtype=torch.int64) * bits
    word, off = pos // 32, pos % 32
    value = words[:, word] >> off
    straddles = off + bits > 32  # 3 bits: a value across two words
    if bool(straddles.any()):
        nxt = torch.clamp(word + 1, max=words.shape[1] - 1)
        value = torch.where(straddles, value | (words[:, nxt] << (32 - off)), value)
    return (value & ((1 << bits) - 1)) - (1 << (bits - 1))


class QuantizedLinear(nn.Module):
    """A linear layer whose weight [out_features, in_features] is stored in
    the compressed-tensors pack-quantized layout. Build it with
    :meth:`from_float`."""

    def __init__(self, in_features: int, out_features: int, bits: int, group_size: int, symmetric: bool,
                 per_tensor: bool = False) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.bits, self.group_size, self.symmetric, self.per_tensor = bits, group_size, symmetric, per_tensor
        self.bias = None
        self._kernel = None

    @property
    def scheme(self) -> str:
        """The scheme as wquant's --override spells it, e.g. 'w4-g32-asym'."""
        gran = "tensor" if self.per_tensor else (f"g{self.group_size}" if self.group_size else "channel")
        return f"w{self.bits}-{gran}-{'sym' if self.symmetric else 'asym'}"

    @classmethod
    def from_float(cls, weight: torch.Tensor, bias: torch.Tensor | None, *, bits: int = 8,
                   group_size: int | None = None, symmetric: bool = True, per_tensor: bool = False,
                   scale_dtype: torch.dtype | None = None, method: str = "rtn") -> tuple["QuantizedLinear", dict]:
        """Quantizes ``weight`` [out, in] (its bias kept in its dtype) with
        wquant's quantizer. Scales are stored in ``scale_dtype`` (default:
        the weight's float dtype). Returns the layer and the weight error
        (mse, sqnr_db, max_abs)."""
        out_features, in_features = weight.shape
        dtype = scale_dtype or (weight.dtype if weight.dtype in _SCALE_DTYPE_NAMES else torch.float32)
        w = weight.detach().to("cpu", torch.float32).contiguous()
        granularity = "tensor" if per_tensor else ("group" if group_size else "channel")
        native = _wquant.quantize(w, bits, granularity, group_size or 0, symmetric, _SCALE_DTYPE_NAMES[dtype], method)
        error = native.error(w)
        layer = cls(in_features, out_features, bits, group_size or 0, symmetric, per_tensor)
        for suffix, dtype_name, shape, raw in native.compressed_tensors(_SCALE_DTYPE_NAMES[dtype]):
            t = torch.from_numpy(np.array(raw, copy=True)).view(_TORCH_DTYPES[dtype_name]).reshape(shape)
            layer.register_buffer(suffix, t.to(weight.device))
        if bias is not None:
            layer.bias = nn.Parameter(bias.detach().clone(), requires_grad=False)
        return layer, error

    def _kernel_for_cpu(self):
        if self._kernel is None:
            zp = getattr(self, "weight_zero_point", None)
            bias = None if self.bias is None else self.bias.detach()
            self._kernel = _wquant.LinearKernel(self.weight_packed, self.weight_scale, zp, self.bits,
                                                self.group_size, self.in_features, bias)
        return self._kernel

    def _apply(self, fn, *args, **kwargs):  # .to(), .half(), ...: the buffers may move
        self._kernel = None
        return super()._apply(fn, *args, **kwargs)

    def _load_from_state_dict(self, *args, **kwargs):  # contents replaced in place
        self._kernel = None
        return super()._load_from_state_dict(*args, **kwargs)

    def __getstate__(self):  # copy.deepcopy, pickle, torch.save: the kernel is rebuilt on use
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__
        state = dict(state)
        state["_kernel"] = None
        return state

    def dequantized_weight(self) -> torch.Tensor:
        """The weight (q - zero_point) * scale, float32 [out, in], on the buffers' device."""
        q = _unpack_rows(self.weight_packed, self.in_features, self.bits).to(torch.float32)
        scale = self.weight_scale.to(torch.float32)
        groups = scale.shape[-1] if scale.dim() == 2 else 1
        zp = None
        if not self.symmetric:
            packed_zp = self.weight_zero_point
            if packed_zp.dtype == torch.int8:
                zp = packed_zp.to(torch.float32).reshape(1, 1)
            else:
                zp = _unpack_rows(packed_zp.t().contiguous(), self.out_features, self.bits).t().to(torch.float32)
        if scale.numel() == 1:
            scale = scale.reshape(1, 1)
        width = self.group_size if self.group_size else self.in_features
        expand = lambda t: t.repeat_interleave(width, dim=1)[:, : self.in_features] if groups > 1 else t
        if zp is not None:
            q = q - expand(zp)
        return q * expand(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and x.dtype in _KERNEL_DTYPES and not (torch.is_grad_enabled() and x.requires_grad):
            lead = x.shape[:-1]
            x2 = x.reshape(-1, self.in_features).contiguous()
            out = torch.empty(x2.shape[0], self.out_features, dtype=torch.float32)
            self._kernel_for_cpu()(x2, out)
            return out.to(x.dtype).reshape(*lead, self.out_features)
        w = self.dequantized_weight().to(x.dtype)
        return nn.functional.linear(x, w, None if self.bias is None else self.bias.to(x.dtype))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, {self.scheme}, bias={self.bias is not None}"


def _is_conv1d(module: nn.Module) -> bool:
    """GPT-2's transformers Conv1D: y = x W + b with W [in, out]."""
    return type(module).__name__ == "Conv1D" and hasattr(module, "nf")


def _excluded(name: str, patterns: Iterable[str]) -> bool:
    leaf = name.rsplit(".", 1)[-1]
    return any(name == p or leaf == p or fnmatch.fnmatchcase(name, p) for p in patterns)


def _fitted_group(in_features: int, group_size: int | None) -> int | None:
    """The group size as wquant's plan applies it: one that does not divide
    the layer's inputs shrinks to the largest that does (576, g128 -> g96),
    as compressed-tensors needs whole groups."""
    if not group_size:
        return None
    if group_size > in_features:
        raise Error(f"group_size {group_size} is larger than a layer's {in_features} input features")
    return max(g for g in range(1, group_size + 1) if in_features % g == 0)


def quantize_linear_layers(model: nn.Module, bits: int = 8, *, exclude: Iterable[str] = ("lm_head",),
                           group_size: int | None = None, symmetric: bool = True, per_tensor: bool = False,
                           method: str = "rtn", scale_dtype: torch.dtype | None = None) -> list[dict]:
    """Replaces, in place, every ``nn.Linear`` and GPT-2 ``Conv1D`` of
    ``model`` whose name does not match ``exclude`` (exact names, last name
    components such as "lm_head", or globs) by a :class:`QuantizedLinear`
    with ``bits`` (2, 3, 4, 8) weights: one scale per output channel, or per
    ``group_size`` inputs, or per tensor; zero-points when not symmetric;
    method "rtn" or "mse". Returns one row per layer: name, scheme, shape,
    sqnr_db, mse, max_abs, bytes_before, bytes_after."""
    rows = []
    targets = [(n, m) for n, m in model.named_modules()
               if (isinstance(m, nn.Linear) or _is_conv1d(m)) and n and not _excluded(n, exclude)]
    for name, module in targets:
        weight = module.weight.t() if _is_conv1d(module) else module.weight
        gs = _fitted_group(weight.shape[1], group_size)
        layer, error = QuantizedLinear.from_float(weight, module.bias, bits=bits, group_size=gs,
                                                  symmetric=symmetric, per_tensor=per_tensor,
                                                  scale_dtype=scale_dtype, method=method)
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, child, layer)
        after = sum(b.numel() * b.element_size() for n, b in layer.named_buffers() if n != "weight_shape")
        rows.append({"name": name, "scheme": layer.scheme, "shape": list(weight.shape), **error,
                     "bytes_before": weight.numel() * weight.element_size(), "bytes_after": after})
    return rows


def save_compressed(model: nn.Module, out_dir: "str | os.PathLike[str]", *, overwrite: bool = False) -> None:
    """Saves a model whose layers :func:`quantize_linear_layers` replaced as a
    compressed-tensors checkpoint directory (model.safetensors and
    config.json with its quantization_config) that transformers loads.
    Written aside and renamed into place: nothing is left at ``out_dir`` on
    failure."""
    from safetensors.torch import save_file

    out_dir = os.fspath(out_dir)
    if os.path.lexists(out_dir) and not (overwrite and os.path.isdir(out_dir)):
        raise Error(f"{out_dir}: already exists (pass overwrite=True to replace a directory)")
    quantized, ignored = [], []
    for name, m in model.named_modules():
        if isinstance(m, QuantizedLinear):
            quantized.append((name, m.scheme))
        elif name and (isinstance(m, nn.Linear) or _is_conv1d(m)):
            ignored.append(name)
    if not quantized:
        raise Error("save_compressed: the model has no QuantizedLinear layer (call quantize_linear_layers first)")
    tensors, seen = {}, set()
    for key, t in model.state_dict().items():
        if t.data_ptr() in seen and t.numel() > 0:  # tied weights (lm_head = embed_tokens): stored once
            continue
        seen.add(t.data_ptr())
        tensors[key] = t.detach().to("cpu").contiguous()
    config = model.config.to_dict() if hasattr(model, "config") else {}
    config["quantization_config"] = json.loads(_wquant.quantization_config(quantized, ignored))
    parent = os.path.dirname(os.path.abspath(out_dir))
    tmp = tempfile.mkdtemp(prefix=os.path.basename(out_dir) + ".wquant-tmp-", dir=parent)
    try:
        save_file(tensors, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.save_pretrained(tmp)
        if os.path.isdir(out_dir):
            shutil.rmtree(out_dir)
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
