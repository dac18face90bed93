"""wquant's ggml dequantizers against the `gguf` package's numpy dequantizers,
bit for bit (0 ulp), for every type wquant reads.

(a) Every type on random blocks: each block's bytes are random, its f16 scale
    fields (d, m, dmin) any finite f16, subnormals included; a GGUF file made
    by gguf.GGUFWriter holds one tensor per type, tests/tools/gguf_dequant
    dequantizes it with wquant, gguf.quants.dequantize is the reference.
    Random bytes reach every bit pattern of every quant and scale field, which
    the files llama.cpp writes do not.
(b) Files llama.cpp made: llama-quantize (the one bench/ builds from the
    llama-cpp-python sdist, scripts/fetch_peers.sh) turns the F32 GGUF of the
    default model into each type; skipped, with the reason, when that build is
    not on this machine.
Why bit-exact is the right tolerance: every product in these formats is exact
in f32 (see src/io/gguf_quants.cpp), so the only rounding is one subtraction
or addition of a minimum, the same in both; the i-quants' scale products
(d * (0.5 + s) * 0.25, then times a codebook magnitude) do round, in ggml's
order on both sides.
"""
import subprocess

import numpy as np
import pytest
from safetensors.numpy import load_file

from conftest import CACHE, run

GENESIS = CACHE / "text" / "genesis.txt"
from test_gguf_oracle import assert_bit_equal

# type -> byte offsets of its f16 scale fields within a block (ggml-common.h).
F16_FIELDS = {
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0], "IQ4_NL": [0],
    "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208], "IQ4_XS": [0],
    "IQ2_XXS": [0], "IQ2_XS": [0], "IQ2_S": [0], "IQ3_XXS": [0], "IQ3_S": [0], "IQ1_S": [0],
    "IQ1_M": [],  # its f16 d is spread over the top nibbles of the 4 scale words at 48..55
}


def random_blocks(qtype, n_blocks: int, rng) -> np.ndarray:
    import gguf
    values, size = gguf.GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    for off in F16_FIELDS[qtype.name]:
        h = rng.integers(0, 1 << 16, size=n_blocks, dtype=np.uint16)
        finite = (h & 0x7C00) != 0x7C00  # exponent all ones: inf or NaN
        h = np.where(finite, h, h & 0x83FF)  # -> exponent 0: a subnormal
        blocks[:, off:off + 2] = h.view(np.uint8).reshape(n_blocks, 2)
    if qtype.name == "IQ1_M":
        h = finite_f16(rng, n_blocks)
        words = blocks[:, 48:56].copy().view(np.uint16)
        for k in range(4):
            words[:, k] = (words[:, k] & 0x0FFF) | (((h >> (4 * k)) & 0xF) << 12)
        blocks[:, 48:56] = words.view(np.uint8)
    return blocks


def finite_f16(rng, n):
    h = rng.integers(0, 1 << 16, size=n, dtype=np.uint16)
    return np.where((h & 0x7C00) != 0x7C00, h, h & 0x83FF)  # inf / NaN -> a subnormal


def test_every_type_on_random_blocks_equals_gguf_package(tool_bin, tmp_path):
    import gguf
    rng = np.random.default_rng(9)
    path = tmp_path / "random.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    expected = {}
    for name in F16_FIELDS:
        qtype = gguf.GGMLQuantizationType[name]
        values, _ = gguf.GGML_QUANT_SIZES[qtype]
        rows, row_blocks = 3, 1024 // values if values < 256 else 4
        raw = random_blocks(qtype, rows * row_blocks, rng).reshape(rows, -1)
        writer.add_tensor(name, raw, raw_dtype=qtype)
        expected[name] = gguf.quants.dequantize(raw, qtype).astype(np.float32)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    out = tmp_path / "ours.safetensors"
    run([tool_bin("gguf_dequant"), path, out])
    ours = load_file(str(out))
    assert sorted(ours) == sorted(expected)
    for name, ref in expected.items():
        assert_bit_equal(np.ascontiguousarray(ours[name]), np.ascontiguousarray(ref), name)


def test_unknown_type_is_named(tool_bin, tmp_path):
    """A type the reader knows the layout of but cannot dequantize (Q8_1,
    ggml's intermediate type) is refused naming file, tensor and type."""
    import gguf
    path = tmp_path / "q8_1.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tensor("w", np.zeros((2, 40), np.uint8), raw_dtype=gguf.GGMLQuantizationType.Q8_1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    p = run([tool_bin("gguf_dequant"), path, tmp_path / "o.safetensors"], check=False)
    assert p.returncode == 1
    assert "q8_1.gguf" in p.stderr and "'w'" in p.stderr and "Q8_1" in p.stderr, p.stderr


LLAMA_QUANTIZE = CACHE / "peers" / "llama.cpp-0.3.36" / "build" / "bin" / "llama-quantize"
F32_GGUF = CACHE / "calib-bench" / "smollm2-135m-f32.gguf"
# Three files hold every type wquant reads except Q2_K (llama.cpp's Q2_K falls
# back to Q3_K/Q4_0 on this model's 576-wide rows, not multiples of 256; the
# random blocks above cover it): Q3_K_M has Q4_0, Q4_K, Q5_0, Q5_1, Q5_K and
# Q8_0 tensors, Q4_K_M Q6_K, IQ4_XS IQ4_NL and IQ4_XS (measured). The i-quant
# files need an importance matrix (llama-imatrix on 4 x 128 tokens of Genesis,
# made once): IQ1_S / IQ1_M / IQ2_XXS / IQ2_XS / IQ3_XXS / IQ3_S each hold 27-30
# tensors of their type (the 1536-wide ones; 576 is not a multiple of 256); IQ2_S falls back to
# IQ2_XS / IQ3_S on this model, so its random blocks above are its only check.
LLAMA_TYPES = ["Q3_K_M", "Q4_K_M", "IQ4_XS", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ3_S", "IQ1_S", "IQ1_M"]
IMATRIX_TYPES = {"IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ3_S", "IQ1_S", "IQ1_M"}
LLAMA_IMATRIX = LLAMA_QUANTIZE.with_name("llama-imatrix")


def have_llama_quantize():
    if not (LLAMA_QUANTIZE.exists() and F32_GGUF.exists()):
        pytest.skip(f"{LLAMA_QUANTIZE} or {F32_GGUF} missing: built by bench/peers_quality.py")


@pytest.fixture(scope="module")
def llama_file(tmp_path_factory):
    """Returns a function: ftype -> the default model quantized to it by llama-quantize (made once)."""
    made = {}

    def imatrix():
        if "imatrix" not in made:
            d = tmp_path_factory.mktemp("imatrix")
            (d / "text.txt").write_text(GENESIS.read_text()[:20000])
            subprocess.run([str(LLAMA_IMATRIX), "-m", str(F32_GGUF), "-f", str(d / "text.txt"),
                            "-o", str(d / "imatrix.gguf"), "--chunks", "4", "-c", "128", "-t", "2"],
                           check=True, capture_output=True)
            made["imatrix"] = d / "imatrix.gguf"
        return made["imatrix"]

    def make(ftype):
        have_llama_quantize()
        if ftype not in made:
            path = tmp_path_factory.mktemp("llama") / f"smollm2-{ftype}.gguf"
            extra = ["--imatrix", str(imatrix())] if ftype in IMATRIX_TYPES else []
            subprocess.run([str(LLAMA_QUANTIZE), *extra, str(F32_GGUF), str(path), ftype, "2"], check=True,
                           capture_output=True)
            made[ftype] = path
        return made[ftype]
    return make


@pytest.mark.parametrize("ftype", LLAMA_TYPES)
def test_llama_quantize_files_equal_gguf_package(tool_bin, tmp_path, llama_file, ftype):
    import gguf
    path = llama_file(ftype)
    out = tmp_path / "ours.safetensors"
    run([tool_bin("gguf_dequant"), path, out], timeout=300)
    ours = load_file(str(out))
    reader = gguf.GGUFReader(str(path))
    types = set()
    for t in reader.tensors:
        types.add(t.tensor_type.name)
        ref = gguf.quants.dequantize(t.data, t.tensor_type)
        ref = np.ascontiguousarray(ref.reshape(tuple(reversed(t.shape.tolist()))), np.float32)
        assert_bit_equal(np.ascontiguousarray(ours[t.name]), ref, f"{ftype} {t.name}")
    assert len(ours) == len(reader.tensors)
    print(ftype, sorted(types))


def test_q4_k_m_runs_like_transformers_and_requantizes(wquant_bin, tool_bin, llama_file, tmp_path):
    """llama.cpp's Q4_K_M of the default model: wquant's logits of a Genesis
    prompt and 32 greedy tokens equal transformers' (its GGUF loader
    dequantizes with the gguf package; tolerance as for the float GGUF in
    test_llama_oracle: f32 everywhere, only summation order differs), then
    `wquant generate` runs it and `wquant quantize` re-quantizes it to W8,
    whose evaluation against the Q4_K_M file is close (measured KLD below)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from test_llama_oracle import PROMPT, reference, relative, wquant_logits
    path = llama_file("Q4_K_M")
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32).eval()
    ids = tok(PROMPT)["input_ids"]
    ours, ours_gen = wquant_logits(tool_bin, path, ids, tmp_path)
    ref, ref_gen = reference(model, ids)
    rel = relative(ours, ref)
    print(f"Q4_K_M: logits max rel diff {rel:.2e}")
    assert rel < 1e-4
    assert ours_gen == ref_gen
    gen = run([wquant_bin, "generate", path, "-p", "In the beginning", "-n", "8"], timeout=300)
    assert gen.stdout.strip().startswith("In the beginning"), gen.stdout
    out = tmp_path / "w8"
    run([wquant_bin, "quantize", path, "-o", out, "--bits", "8", "--no-progress"], timeout=300)
    import json
    ev = json.loads(run([wquant_bin, "eval", out, "--reference", path, "--text", GENESIS, "--context", "128",
                         "--chunks", "2", "--json"], timeout=300).stdout)
    print("W8 of Q4_K_M vs Q4_K_M: KLD", ev["mean_kl"])
    # W8 per channel of float weights measures ~0.006 (docs/QUALITY_CALIBRATED.md);
    # 0.05 fails only if the re-quantized weights were read wrong.
    assert ev["mean_kl"] < 0.05
