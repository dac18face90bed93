"""wquant: weight quantization of transformer models, in C++, from Python.

The same library as the ``wquant`` command, through a thin binding:

* :func:`quantize_checkpoint` quantizes a checkpoint (safetensors, sharded,
  GGUF) into a compressed-tensors checkpoint that transformers and vLLM load,
  with every option of ``wquant quantize`` (calibration included), and
  returns the report;
* :func:`quantize` quantizes one array (NumPy, or a CPU torch tensor);
* :func:`load` runs a model: ``generate``, ``logits``, ``perplexity``,
  ``embed``, and its ``tokenizer``;
* :mod:`wquant.torch` replaces the linear layers of a live PyTorch model by
  quantized ones that run on wquant's kernels.

Errors are :class:`wquant.Error` with the CLI's one-line message. Long calls
release the GIL, and Ctrl-C stops them (KeyboardInterrupt; a checkpoint
being written is not left behind).
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from . import _wquant
from ._wquant import Error, Tokenizer, get_num_threads, set_num_threads, simd_target

__version__ = _wquant.__version__
__all__ = [
    "Error", "Model", "Plan", "QuantizedArray", "QuantizeReport", "Tokenizer", "get_num_threads", "load",
    "load_tokenizer", "quantize", "quantize_checkpoint", "set_num_threads", "simd_target",
]



class _ProgressBar:
    """One line on stderr per stage, redrawn in place when stderr is a terminal."""

    def __init__(self) -> None:
        self._stage = None
        self._tty = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int, what: str) -> None:
        if not self._tty:
            return
        if stage != self._stage:
            self._stage = stage
        width = 30
        filled = int(width * done / total) if total else width
        name = what if len(what) <= 40 else "..." + what[-37:]
        sys.stderr.write(f"\r\033[K[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {stage} {name}")
        sys.stderr.flush()

    def close(self) -> None:
        if self._tty and self._stage is not None:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _warn(message: str) -> None:
    print(f"wquant: warning: {message}", file=sys.stderr)


class QuantizeReport:
    """What :func:`quantize_checkpoint` did: per-layer rows and the footprint.

    ``layers`` is a list of dicts (layer, shape, scheme, bits, group_size,
    symmetric, method, sqnr_db, mse, max_abs_error, output_error,
    bytes_before, bytes_after, note, error_histogram); ``data`` is the whole
    report as ``wquant quantize --json`` prints it. ``str(report)`` is the
    CLI's table.
    """

    def __init__(self, native: Any) -> None:
        self._native = native
        self.data: dict = json.loads(native.json())

    @property
    def layers(self) -> list[dict]:
        return self.data["layers"]

    @property
    def bytes_before(self) -> int:
        """Bytes of every tensor at its float dtype."""
        return self.data["total_bytes_before"]

    @property
    def bytes_after(self) -> int:
        """Bytes written."""
        return self.data["total_bytes_after"]

    @property
    def compression_ratio(self) -> float:
        return self.data["compression_ratio"]

    @property
    def output(self) -> str:
        return self.data["output"]

    def to_html(self, path: "str | os.PathLike[str] | None" = None, layer: str | None = None) -> str:
        """Returns the report as one self-contained HTML page (charts in inline
        SVG), and writes it to ``path`` (atomically) if given. ``layer``: whose
        weight-error histogram it shows (default: the lowest SQNR)."""
        html = self._native.html(layer or "")
        if path is not None:
            self._native.write_html(os.fspath(path), layer or "")
        return html

    def __str__(self) -> str:
        return self._native.text()

    def __repr__(self) -> str:
        return (f"<QuantizeReport {len(self.layers)} layers, {self.bytes_before / 1e6:.1f} MB -> "
                f"{self.bytes_after / 1e6:.1f} MB>")


class Plan:
    """What :func:`quantize_checkpoint` would do (``dry_run=True``): per tensor,
    whether it is quantized, with which scheme, and why (``tensors``)."""

    def __init__(self, data: dict) -> None:
        self.data = data

    @property
    def tensors(self) -> list[dict]:
        return self.data["tensors"]

    def __repr__(self) -> str:
        n = sum(1 for t in self.tensors if t.get("quantize"))
        return f"<Plan {len(self.tensors)} tensors, {n} quantized>"


def _overrides(overrides: "Mapping[str, str] | Iterable[str] | None") -> list[str]:
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        return [f"{glob}={scheme}" for glob, scheme in overrides.items()]
    return [str(o) for o in overrides]


def _names(values: "str | Iterable[str] | None") -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    return [str(v) for v in values]


def quantize_checkpoint(
    src: "str | os.PathLike[str]",
    out: "str | os.PathLike[str] | None" = None,
    *,
    bits: int = 8,
    group_size: int | None = None,
    symmetric: bool = True,
    per_tensor: bool = False,
    exclude: "str | Iterable[str] | None" = None,
    include: "str | Iterable[str] | None" = None,
    overrides: "Mapping[str, str] | Iterable[str] | None" = None,
    dtype: str = "auto",
    method: str | None = None,
    calibration: "str | os.PathLike[str] | None" = None,
    tokenizer: "str | os.PathLike[str] | None" = None,
    calibration_tokens: int = 65536,
    calibration_context: int = 512,
    damp: float = 0.01,
    act_order: bool = True,
    target_size: "str | float | None" = None,
    target_schemes: "str | Sequence[str] | None" = None,
    report: "str | os.PathLike[str] | None" = None,
    report_layer: str | None = None,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: "bool | Callable[[str, int, int, str], None]" = True,
    warnings: "Callable[[str], None] | None" = None,
) -> "QuantizeReport | Plan":
    """Quantizes the linear layers of a checkpoint into a compressed-tensors
    checkpoint directory ``out``; ``wquant quantize`` with the same options.

    src: a .safetensors or .gguf file, or a Hugging Face model directory.
    bits: 2, 3, 4 or 8. group_size: one scale per that many input features
    (default: one per output channel; per_tensor=True: one per tensor).
    symmetric=False: min/max ranges with zero-points.
    exclude / include: globs over layer names kept float / quantized even if
    excluded by default (lm_head, embeddings). overrides: {glob: scheme}, e.g.
    {"*.mlp.*": "w4-g128-asym"}. dtype: of scales and float tensors
    (auto|f32|f16|bf16). method: rtn | mse | gptq | awq | awq-gptq (default:
    gptq with calibration, rtn without). calibration: a UTF-8 text file the
    float model runs over. target_size: e.g. "105.5MB", "4.5bpw": each layer
    gets the scheme of target_schemes that costs least error per byte.
    report: also write this HTML page. dry_run: return the Plan, write nothing.
    progress: True (a bar on stderr when it is a terminal), False, or
    callable(stage, done, total, what). warnings: callable(message); default:
    printed to stderr.

    Returns a :class:`QuantizeReport` (or a :class:`Plan` with dry_run).
    Raises :class:`wquant.Error` naming the file or option that is refused;
    nothing is left at ``out`` then.
    """
    job = _wquant.QuantizeJob()
    job.input = os.fspath(src)
    job.output = "" if out is None else os.fspath(out)
    job.overwrite = overwrite
    job.bits = int(bits)
    job.per_tensor = bool(per_tensor)
    job.group_size = 0 if group_size is None else int(group_size)
    job.symmetric = bool(symmetric)
    job.exclude = _names(exclude)
    job.include = _names(include)
    job.overrides = _overrides(overrides)
    job.dtype = dtype
    job.method = method or ""
    job.calibration = "" if calibration is None else os.fspath(calibration)
    job.tokenizer = "" if tokenizer is None else os.fspath(tokenizer)
    job.calibration_tokens = int(calibration_tokens)
    job.calibration_context = int(calibration_context)
    job.damp = float(damp)
    job.act_order = bool(act_order)
    job.target_size = "" if target_size is None else str(target_size)
    if target_schemes is not None:
        job.target_schemes = target_schemes if isinstance(target_schemes, str) else ",".join(target_schemes)
    job.report_html = "" if report is None else os.fspath(report)
    job.report_layer = report_layer or ""
    if bits not in (2, 3, 4, 8):
        raise Error(f"bits {bits}: expected 2, 3, 4 or 8")
    if dry_run:
        if report is not None:
            raise Error("report draws the errors of a quantization run: it cannot be combined with dry_run")
        return Plan(json.loads(_wquant.plan_quantize_job(job)))
    if out is None:
        raise Error("quantize_checkpoint: the output directory `out` is required")
    bar = _ProgressBar() if progress is True else None
    callback = bar if bar is not None else (progress if callable(progress) else None)
    try:
        native = _wquant.run_quantize_job(job, callback, warnings or _warn)
    finally:
        if bar is not None:
            bar.close()
    return QuantizeReport(native)


class QuantizedArray:
    """A 2-D weight quantized by :func:`quantize`.

    q: int8 [rows, cols]; scales: float32 [scale_rows, scale_cols];
    zero_points: int8 like scales, or None when symmetric (views of the
    native buffers); packed(): compressed-tensors' weight_packed, int32;
    dequantize(): float32 [rows, cols]; error: mse, sqnr_db, max_abs against
    the input.
    """

    def __init__(self, native: Any, error: dict) -> None:
        self._native = native
        self.error: dict = error

    scheme = property(lambda self: self._native.scheme, doc="e.g. 'w4 g32 asym'")
    bits = property(lambda self: self._native.bits)
    shape = property(lambda self: tuple(self._native.shape))
    q = property(lambda self: self._native.q)
    scales = property(lambda self: self._native.scales)

    @property
    def zero_points(self) -> "np.ndarray | None":
        z = self._native.zero_points
        return None if z.shape[0] == 0 else z

    def packed(self) -> np.ndarray:
        return self._native.packed()

    def dequantize(self) -> np.ndarray:
        return self._native.dequantize()

    @property
    def nbytes(self) -> int:
        """Bytes as stored: packed integers, scales (float32) and zero-points."""
        z = self.zero_points
        return self.packed().nbytes + self.scales.nbytes + (0 if z is None else z.size * self.bits // 8)

    def __repr__(self) -> str:
        return f"<QuantizedArray {self.scheme} {list(self.shape)} SQNR {self.error['sqnr_db']:.2f} dB>"


def _as_float_array(w: Any) -> Any:
    """A C-contiguous CPU float array for the binding: NumPy arrays as they
    are, torch tensors (f32/f16/bf16) through DLPack without a copy when
    already contiguous."""
    if type(w).__module__.startswith("torch"):
        t = w.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        return t.contiguous()
    a = np.asarray(w)
    if a.dtype not in (np.float32, np.float16, np.float64):
        a = a.astype(np.float32)
    return np.ascontiguousarray(a)


def quantize(
    w: Any,
    bits: int = 8,
    *,
    granularity: str = "channel",
    group_size: int | None = None,
    symmetric: bool = True,
    scale_dtype: str = "float32",
    method: str = "rtn",
) -> QuantizedArray:
    """Quantizes a 2-D weight [out_features, in_features] (NumPy array, or a
    CPU torch tensor of float32 / float16 / bfloat16).

    granularity: "channel" (one scale per output row), "tensor", or "group"
    (group_size consecutive input features; giving group_size implies it).
    method: "rtn" (round to nearest on the min/max range) or "mse" (the
    clipping range of least squared error per group). Returns a
    :class:`QuantizedArray`.
    """
    if group_size is not None and granularity == "channel":
        granularity = "group"
    arr = _as_float_array(w)
    native = _wquant.quantize(arr, bits, granularity, group_size or 0, symmetric, scale_dtype, method)
    return QuantizedArray(native, native.error(arr))


def load_tokenizer(path: "str | os.PathLike[str]") -> Tokenizer:
    """Loads a tokenizer.json, a GGUF file's vocabulary, or a model directory's tokenizer."""
    return _wquant.load_tokenizer(os.fspath(path))


def _ids(tokens: Any) -> list[int]:
    if isinstance(tokens, np.ndarray) or type(tokens).__module__.startswith("torch"):
        return [int(t) for t in np.asarray(tokens).reshape(-1)]
    return [int(t) for t in tokens]


class Model:
    """A model loaded by :func:`load`: a causal LM (generate, logits,
    perplexity) or an encoder (embed), with its ``tokenizer``."""

    def __init__(self, native: Any) -> None:
        self._native = native

    @property
    def kind(self) -> str:
        """"causal_lm" or "encoder"."""
        return self._native.kind

    @property
    def config(self) -> dict:
        """config.json (for GGUF, built from its metadata)."""
        return json.loads(self._native.config)

    @property
    def tokenizer(self) -> Tokenizer:
        return self._native.tokenizer

    def logits(self, token_ids: Any) -> np.ndarray:
        """Logits of every position, float32 [len(token_ids), vocab] (a fresh cache)."""
        return self._native.logits(_ids(token_ids))

    def generate(
        self,
        prompt: "str | Sequence[int]",
        max_new_tokens: int = 64,
        *,
        chat: bool = False,
        system: str = "",
        temperature: float = 0.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int = 0,
        stop_at_eos: bool = True,
    ) -> Iterator[str]:
        """Yields the generated text piece by piece (``"".join(...)`` for all).

        prompt: text (encoded with the model's tokenizer; chat=True wraps it in
        the ChatML template first, as ``wquant generate`` does without --raw)
        or token ids. temperature 0 is greedy; top_k / top_p filter the
        sampled tokens; seed makes sampling repeat. One generation per model
        at a time (they share the cache).
        """
        if isinstance(prompt, str):
            text = _wquant.chatml_prompt(prompt, system) if chat else prompt
            ids = self.tokenizer.encode(text, True)
        else:
            ids = _ids(prompt)
        gen = self._native.generate(ids, max_new_tokens, temperature, top_k, top_p, seed, stop_at_eos)
        while (piece := gen.next()) is not None:
            if piece:
                yield piece

    def perplexity(
        self,
        text: str,
        *,
        context: int = 256,
        max_chunks: int = 0,
        reference: "Model | None" = None,
        progress: "Callable[[int, int], None] | None" = None,
        report: "str | os.PathLike[str] | None" = None,
    ) -> dict:
        """Evaluates on ``text`` cut into chunks of ``context`` tokens, as
        ``wquant eval`` does: perplexity, nll, chunks, scored_tokens, and per
        window (chunk) its figures in ``windows``; with a ``reference`` model
        (the float original), also mean_kl, max_kl, top1_agreement and
        reference_perplexity. report: also write ``wquant eval --report``'s
        page of charts there. progress: callable(done, total) per chunk."""
        ids = self.tokenizer.encode(text, False)
        ref = None if reference is None else reference._native
        return self._native.evaluate(ids, context, max_chunks, ref, progress,
                                     "" if report is None else os.fspath(report))

    def embed(self, texts: "str | Sequence[str]", *, pooled: bool = True) -> np.ndarray:
        """Sentence embeddings of an encoder: mean-pooled and L2-normalised as
        sentence-transformers does (float32 [len(texts), hidden]); with
        pooled=False, the last hidden state of one text [tokens, hidden]."""
        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        if not pooled:
            if len(items) != 1:
                raise Error("embed(pooled=False) takes one text")
            return self._native.embed(self.tokenizer.encode(items[0], True), False)
        rows = [self._native.embed(self.tokenizer.encode(t, True), True) for t in items]
        out = np.stack(rows)
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"<wquant.Model {self.config.get('model_type', '?')} {self.kind} from {self._native.path}>"


def load(path: "str | os.PathLike[str]", *, context: int = 0,
         tokenizer: "str | os.PathLike[str] | None" = None) -> Model:
    """Loads a model to run: a Hugging Face directory, a .safetensors or .gguf
    file, float or quantized (wquant's or llama.cpp's). context caps the KV
    cache (default: the model's). tokenizer: a tokenizer.json or .gguf
    (default: the model's own)."""
    return Model(_wquant.load(os.fspath(path), context, "" if tokenizer is None else os.fspath(tokenizer)))
