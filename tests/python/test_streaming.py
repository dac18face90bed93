"""Streaming: wquant quantize reads one tensor at a time from the mapped input
and appends to the output, so its peak RSS follows the largest tensor, not the
model. A synthetic llama-shaped checkpoint of 48 x 16 MB f32 tensors (805 MB)
is quantized at W8 and W4; peak RSS must stay under 3 x the largest tensor
plus a constant, i.e. far below the model size.
"""
import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from conftest import run

N_LAYERS, ROWS, COLS = 16, 2048, 2048  # 3 linear tensors per layer, 16 MiB each in f32
TENSOR_BYTES = ROWS * COLS * 4
# Constant part of the bound: the executable, libraries, heap arenas and
# buffers measured at ~12 MB for a tiny model; 64 MB leaves room for allocator
# fragmentation.
CONSTANT_BYTES = 64 << 20


@pytest.fixture(scope="module")
def big_checkpoint(tmp_path_factory):
    d = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(0)
    tensors = {}
    for i in range(N_LAYERS):
        for name in ("q_proj", "k_proj", "v_proj"):
            tensors[f"model.layers.{i}.self_attn.{name}.weight"] = \
                rng.standard_normal((ROWS, COLS), dtype=np.float32)
    save_file(tensors, str(d / "model.safetensors"))
    (d / "config.json").write_text(json.dumps({"model_type": "llama"}))
    return d, sum(t.nbytes for t in tensors.values())


@pytest.mark.parametrize("flags", [["--bits", "8"], ["--bits", "4", "--group-size", "128", "--asymmetric"]],
                         ids=["w8", "w4-g128-asym"])
def test_peak_rss_follows_largest_tensor(wquant_bin, big_checkpoint, tmp_path, flags):
    src, model_bytes = big_checkpoint
    proc = run([wquant_bin, "quantize", src, "-o", tmp_path / "out", "--json", *flags])
    report = json.loads(proc.stdout)
    peak = report["peak_rss_bytes"]
    bound = 3 * TENSOR_BYTES + CONSTANT_BYTES
    print(f"{flags}: model {model_bytes / 1e6:.0f} MB, largest tensor {TENSOR_BYTES / 1e6:.1f} MB, "
          f"peak RSS {peak / 1e6:.1f} MB, bound {bound / 1e6:.1f} MB, {report['seconds']:.2f} s")
    assert len(report["layers"]) == 3 * N_LAYERS
    assert peak < bound
    assert peak < model_bytes / 4
