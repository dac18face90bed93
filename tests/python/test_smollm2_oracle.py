"""wquant quantize on the real SmolLM2-135M-Instruct GGUF (Q4_1), checked
against Hugging Face transformers' own GGUF loader (which dequantizes with the
gguf package) as the independent reference:

* the weights transformers + compressed-tensors dequantize from wquant's output
  equal the numpy reference rule (quant_reference.py) applied to the weights
  transformers reads from the GGUF, bit for bit (wquant's GGUF decoding, name
  mapping and Q/K un-permutation included);
* the quantized model runs, and its next-token predictions agree with the
  float model's on real English text;
* the footprint shrinks as expected and lm_head / embeddings stay float.
"""
import json

import numpy as np
import pytest
import torch

from conftest import run
from ct_reference import decompress as _decompress, quantized_model as _quantized_model
from quant_reference import quantize_reference

SCHEMES = [
    ("w8-channel-sym", ["--bits", "8", "--per-channel"], 8, "channel", None, True),
    ("w4-g128-asym", ["--bits", "4", "--group-size", "128", "--asymmetric"], 4, "group", 128, False),
    ("w2-g64-asym", ["--bits", "2", "--group-size", "64", "--asymmetric"], 2, "group", 64, False),
]

# Top-1 agreement of next-token predictions with the float model over the
# first 92 tokens of Genesis, and the footprint ratio (f16 float baseline / output).
# Measured 2026-11-22: see the values printed by the tests; thresholds leave
# a margin below them. A wrong layout or permutation gives ~0 agreement.
# Measured: w8 0.957, w4 g128 0.663 over 92 tokens. W2 g64 (SQNR ~6.6 dB per
# layer) breaks this 135M model (measured 0.000): only finiteness is checked.
# Minimum per-layer SQNR (dB). Measured 2026-11-22: w8 38.70, w4 g128 18.31,
# w2 g64 5.77 (each bit adds ~6 dB); thresholds ~2 dB below catch a rounding
# or range regression, which costs several dB at once.
SQNR_MIN = {"w8-channel-sym": 36.5, "w4-g128-asym": 16.5, "w2-g64-asym": 4.5}
TOP1_MIN = {"w8-channel-sym": 0.90, "w4-g128-asym": 0.55, "w2-g64-asym": None}
RATIO_MIN = {"w8-channel-sym": 1.6, "w4-g128-asym": 2.3, "w2-g64-asym": 3.0}


@pytest.fixture(scope="module")
def float_model(smollm2_gguf):
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(
        smollm2_gguf.parent, gguf_file=smollm2_gguf.name, dtype=torch.float32).eval()


@pytest.fixture(scope="module", params=SCHEMES, ids=[s[0] for s in SCHEMES])
def quantized(request, wquant_bin, smollm2_gguf, tmp_path_factory):
    name, flags, *scheme = request.param
    out = tmp_path_factory.mktemp("smollm2") / name
    proc = run([wquant_bin, "quantize", smollm2_gguf, "-o", out, "--json", *flags])
    return name, out, json.loads(proc.stdout), scheme


def _tokens():
    # Token ids of real English text without a tokenizer file (wquant's GGUF
    # conversion writes none): encode with the GGUF's own vocabulary via transformers.
    from transformers import AutoTokenizer
    from conftest import SMOLLM2_GGUF
    tok = AutoTokenizer.from_pretrained(SMOLLM2_GGUF.parent, gguf_file=SMOLLM2_GGUF.name)
    text = ("In the beginning God created the heaven and the earth. And the earth was without "
            "form, and void; and darkness was upon the face of the deep. And the Spirit of God "
            "moved upon the face of the waters. And God said, Let there be light: and there was "
            "light. And God saw the light, that it was good: and God divided the light from the "
            "darkness. And God called the light Day, and the darkness he called Night.")
    return tok(text, return_tensors="pt")["input_ids"][:, :128]


def test_report_and_footprint(quantized):
    name, out, report, _ = quantized
    assert report["model_type"] == "llama"
    assert len(report["layers"]) == 30 * 7
    ratio = report["total_bytes_before"] / report["total_bytes_after"]
    print(f"{name}: footprint {report['total_bytes_before']} -> {report['total_bytes_after']} B, "
          f"ratio {ratio:.2f}")
    assert ratio >= RATIO_MIN[name]
    sqnr = [l["sqnr_db"] for l in report["layers"]]
    print(f"{name}: SQNR dB min {min(sqnr):.2f} median {np.median(sqnr):.2f}")
    assert min(sqnr) >= SQNR_MIN[name]
    config = json.loads((out / "config.json").read_text())
    targets = [t for g in config["quantization_config"]["config_groups"].values() for t in g["targets"]]
    assert not any("embed" in t or "lm_head" in t for t in targets)


def test_dequantized_weights_match_reference(quantized, float_model):
    name, out, report, (bits, strategy, group_size, symmetric) = quantized
    ours = _decompress(out)
    ref = dict(float_model.named_modules())
    assert sorted(ours) == sorted(l["layer"] for l in report["layers"])
    for layer in report["layers"]:
        w = ref[layer["layer"]].weight.detach().numpy()
        q, scale, zp = quantize_reference(w, bits, strategy, layer["group_size"] or None, symmetric, "float16")
        width = {"channel": w.shape[1], "group": layer["group_size"]}[strategy]
        zp_full = np.repeat(zp, width, axis=1)[:, : w.shape[1]].astype(np.float32)
        scale_full = np.repeat(scale, width, axis=1)[:, : w.shape[1]]
        # The scales are float16 (wquant's auto dtype for GGUF input) and
        # compressed-tensors dequantizes in the scale's dtype: the exact f32
        # product (11 x 9 significant bits) rounded once to float16.
        w_ref = ((q.astype(np.float32) - zp_full) * scale_full).astype(np.float16).astype(np.float32)
        np.testing.assert_array_equal(ours[layer["layer"]].numpy(), w_ref,
                                      err_msg=layer["layer"])


def test_quantized_model_predicts_like_float(quantized, float_model):
    name, out, _, _ = quantized
    ids = _tokens()
    with torch.no_grad():
        ref = float_model(ids).logits[0]
        got = _quantized_model(float_model, out)(ids).logits[0]
    top1 = (ref.argmax(-1) == got.argmax(-1)).float().mean().item()
    print(f"{name}: top-1 agreement with float over {ids.shape[1]} tokens: {top1:.3f}")
    assert torch.isfinite(got).all()
    if TOP1_MIN[name] is not None:
        assert top1 >= TOP1_MIN[name]
