"""wquant embed (BERT encoder) against Hugging Face transformers.

* Float: for 20 lines of Genesis, the sentence embeddings wquant prints
  (last hidden state mean-pooled over the tokens, then L2-normalised, as
  all-MiniLM-L6-v2's 1_Pooling + Normalize do) equal transformers'
  AutoModel(minilm_dir) on the same tokens.
* W8 (wquant quantize's default, per-channel symmetric): wquant's embeddings
  of its own quantized output stay close to the float ones, and equal
  transformers running the same checkpoint decompressed on load.
* Bad input: an empty text, or one longer than max_position_embeddings,
  is one 'wquant: error:' line and exit code 1.

Tolerances, measured on 2026-11-22 (x86-64, transformers 5.x, torch CPU):
  float  max |wquant - transformers| = 1.2e-7 (min cosine 0.99999992)
  W8     max |wquant - transformers on the same W8 file| = 1.2e-7
  W8     cosine(W8, float) over the 20 sentences: min 0.99946, mean 0.99957
The embeddings are unit vectors with components up to ~0.3, where one f32
ulp is 3e-8: the differences are a few ulps of summation order (SIMD matmul
vs MKL). FLOAT_ATOL = 1e-6 leaves 8x margin yet fails on a real modelling
error; measured in transformers on these sentences: the tanh GELU instead of
erf moves the embeddings by 2.1e-4, layer_norm_eps 1e-5 instead of 1e-12 by
9.6e-5, a dropped token_type embedding by 0.72. W8 rounding moves each weight by at
most max|w_row| / 254, which costs the embedding ~5e-4 of cosine; the
threshold 0.998 allows 4x that, while a wrong scale or packing order would
drop the cosine far below (to ~0 for scrambled weights).
"""
import json

import numpy as np
import pytest
import torch

from conftest import CACHE, run

FLOAT_ATOL = 1e-6
MIN_W8_COSINE = 0.998
# run_compressed=False on a checkpoint that has a quantization_config: expected.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")


@pytest.fixture(scope="module")
def sentences():
    lines = [l.strip() for l in (CACHE / "text" / "genesis.txt").read_text().splitlines()]
    return [l for l in lines if l][:20]


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(minilm_dir)


@pytest.fixture(scope="module")
def minilm_w8(wquant_bin, minilm_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("bert") / "minilm-w8"
    run([wquant_bin, "quantize", minilm_dir, "-o", out, "--no-progress"])
    return out


def wquant_embed(wquant_bin, model, texts):
    """Returns (embeddings [n, hidden], token counts, parsed JSON)."""
    proc = run([wquant_bin, "embed", model, *texts, "--json"])
    j = json.loads(proc.stdout)
    assert "peak RSS" in proc.stderr
    return (np.array([e["embedding"] for e in j["embeddings"]], dtype=np.float64),
            [e["tokens"] for e in j["embeddings"]], j)


def hf_embed(model, tokenizer, texts):
    """Returns (embeddings [n, hidden], token counts): sentence-transformers'
    mean pooling + normalisation of transformers' last_hidden_state."""
    out, counts = [], []
    with torch.no_grad():
        for text in texts:
            enc = tokenizer(text, return_tensors="pt")
            h = model(**enc).last_hidden_state[0]
            v = h.mean(0)
            out.append((v / v.norm().clamp_min(1e-12)).numpy())
            counts.append(enc["input_ids"].shape[1])
    return np.array(out, dtype=np.float64), counts


@pytest.fixture(scope="module")
def float_reference(minilm_dir, tokenizer, sentences):
    from transformers import AutoModel
    model = AutoModel.from_pretrained(minilm_dir, dtype=torch.float32).eval()
    return hf_embed(model, tokenizer, sentences)


def test_float_embeddings_equal_transformers(wquant_bin, minilm_dir, sentences, float_reference):
    ref, ref_counts = float_reference
    got, counts, j = wquant_embed(wquant_bin, minilm_dir, sentences)
    assert counts == ref_counts
    assert got.shape == (20, 384) and j["hidden_size"] == 384
    np.testing.assert_allclose(got, ref, rtol=0, atol=FLOAT_ATOL)
    # The printed similarity matrix is the cosine of the printed vectors.
    np.testing.assert_allclose(np.array(j["similarity"]), got @ got.T, atol=1e-6)


def test_w8_embeddings_close_to_float(wquant_bin, minilm_w8, sentences, float_reference):
    ref, _ = float_reference
    got, _, _ = wquant_embed(wquant_bin, minilm_w8, sentences)
    cosine = (got * ref).sum(axis=1) / np.linalg.norm(got, axis=1) / np.linalg.norm(ref, axis=1)
    assert cosine.min() > MIN_W8_COSINE, cosine
    assert cosine.max() < 1 - 1e-7  # the weights were really quantized


def test_w8_embeddings_equal_transformers_on_same_checkpoint(wquant_bin, minilm_w8, tokenizer,
                                                             sentences):
    from transformers import AutoModel, CompressedTensorsConfig
    model = AutoModel.from_pretrained(
        minilm_w8, dtype=torch.float32,
        quantization_config=CompressedTensorsConfig(run_compressed=False)).eval()
    ref, ref_counts = hf_embed(model, tokenizer, sentences)
    got, counts, _ = wquant_embed(wquant_bin, minilm_w8, sentences)
    assert counts == ref_counts
    np.testing.assert_allclose(got, ref, rtol=0, atol=FLOAT_ATOL)


@pytest.mark.parametrize("text, message", [
    ("", "text 2 is empty"),
    ("word " * 600, "more than the 512 positions"),  # 602 tokens with [CLS], [SEP]
])
def test_bad_text_is_one_error_line(wquant_bin, minilm_dir, text, message):
    proc = run([wquant_bin, "embed", minilm_dir, "fine", text], check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wquant: error:"), proc.stderr
    assert message in lines[0]
    assert proc.stdout == ""
