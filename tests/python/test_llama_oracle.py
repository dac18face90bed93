"""wquant runs llama-family models (llama, mistral, qwen2; SmolLM2) and
matches Hugging Face transformers on the same weights:

* float: SmolLM2-135M from its GGUF file, and tiny random llama / mistral /
  qwen2 checkpoints: logits of every prompt position agree within 1e-4
  relative to the largest logit, and 32 greedy tokens are identical;
* quantized: wquant's own W8 and W4 output of SmolLM2 against transformers
  running the same dequantized weights (compressed-tensors as dequantizer).
"""
import numpy as np
import pytest
import torch

from conftest import SMOLLM2_GGUF, run
from ct_reference import quantized_model
import tiny_models

PROMPT = ("In the beginning God created the heaven and the earth. And the earth was "
          "without form, and void")
GREEDY = 32


def wquant_logits(tool_bin, checkpoint, ids, tmp_path, greedy=GREEDY):
    ids_file, logits_file = tmp_path / "ids.txt", tmp_path / "logits.f32"
    ids_file.write_text(" ".join(map(str, ids)))
    proc = run([tool_bin("run_model"), checkpoint, ids_file, logits_file, greedy], timeout=600)
    logits = np.fromfile(logits_file, dtype=np.float32).reshape(len(ids), -1)
    return logits, [int(t) for t in proc.stdout.split()]


def reference(model, ids, greedy=GREEDY):
    """Returns transformers' logits [n, vocab] of the prompt and `greedy`
    tokens decoded one at a time through its KV cache (end-of-sequence is
    not special: wquant's run_model does not stop at it either)."""
    x = torch.tensor([ids])
    with torch.no_grad():
        out = model(x, use_cache=True)
        logits = out.logits[0].numpy()
        past, last, gen = out.past_key_values, out.logits[0, -1], []
        for _ in range(greedy):
            gen.append(int(last.argmax()))
            out = model(torch.tensor([[gen[-1]]]), past_key_values=past, use_cache=True)
            past, last = out.past_key_values, out.logits[0, -1]
    return logits, gen


def relative(ours, ref):
    return float(np.abs(ours - ref).max() / np.abs(ref).max())


@pytest.fixture(scope="module")
def smollm2(smollm2_gguf):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(smollm2_gguf.parent, gguf_file=smollm2_gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        smollm2_gguf.parent, gguf_file=smollm2_gguf.name, dtype=torch.float32).eval()
    return model, tok(PROMPT)["input_ids"]


def test_smollm2_float_matches_transformers(smollm2, smollm2_gguf, tool_bin, tmp_path):
    model, ids = smollm2
    ours, ours_gen = wquant_logits(tool_bin, smollm2_gguf, ids, tmp_path)
    ref, ref_gen = reference(model, ids)
    # Measured 3.7e-6 (2026-11-22): f32 everywhere, only summation order differs.
    rel = relative(ours, ref)
    print(f"SmolLM2 float: logits max rel diff {rel:.2e}")
    assert rel < 1e-4
    assert ours_gen == ref_gen


# W8: transformers dequantizes in the f16 scale dtype (one rounding of each
# weight to f16, relative 2^-11), wquant in f32; measured 1.3e-3 (W8) and
# 9.4e-4 (W4) on 2026-11-22, with all 32 greedy tokens equal.
# W4 with 576-wide layers at g96 and 1536-wide at g128: the reference model is
# the float model carrying compressed-tensors' dequantized weights.
@pytest.mark.parametrize("flags,tolerance", [
    (["--bits", "8"], 5e-3),
    (["--bits", "4", "--group-size", "128", "--asymmetric"], 5e-3),
], ids=["w8", "w4-g128-asym"])
def test_smollm2_quantized_matches_transformers(smollm2, smollm2_gguf, wquant_bin, tool_bin,
                                                tmp_path, flags, tolerance):
    model, ids = smollm2
    out = tmp_path / "q"
    run([wquant_bin, "quantize", smollm2_gguf, "-o", out, *flags])
    ours, ours_gen = wquant_logits(tool_bin, out, ids, tmp_path)
    ref, ref_gen = reference(quantized_model(model, out), ids)
    rel = relative(ours, ref)
    agree = sum(a == b for a, b in zip(ours_gen, ref_gen))
    print(f"SmolLM2 {flags}: logits max rel diff {rel:.2e}, greedy tokens agreeing {agree}/{GREEDY}")
    assert rel < tolerance
    assert ours_gen == ref_gen


@pytest.mark.parametrize("arch", ["llama", "mistral", "qwen2"])
def test_tiny_float_matches_transformers(arch, tool_bin, tmp_path):
    model = tiny_models.build(arch, tmp_path / arch).eval()
    ids = [1, 5, 9, 17, 33, 64, 100, 127, 3, 2]
    ours, ours_gen = wquant_logits(tool_bin, tmp_path / arch, ids, tmp_path, greedy=16)
    ref, ref_gen = reference(model, ids, greedy=16)
    rel = relative(ours, ref)
    print(f"tiny {arch}: logits max rel diff {rel:.2e}")
    assert rel < 1e-4
    assert ours_gen == ref_gen
