"""GGUF files of qwen3, gemma, gemma2, gemma3 (text) and phi3, as llama.cpp's
own convert_hf_to_gguf.py writes them, open in wquant as the Hugging Face
checkpoint they came from and run like it.

For each architecture a tiny transformers-made model (tiny_models.py) gets a
SentencePiece tokenizer.model (the converter needs a vocabulary) and is
converted at f32; then:
  (a) wquant's view of the GGUF (dump_checkpoint) equals the safetensors
      original tensor for tensor, bit for bit, and its synthesised config
      gives transformers the same model;
  (b) wquant's logits on the GGUF match transformers' float model on the
      original, and so do 16 greedy tokens;
  (c) with llama.cpp's llama-quantize, the Q4_K_M file's logits match
      transformers running the same weights, dequantized by the `gguf`
      package and named back with its own tensor-name map.
The tests skip when the llama.cpp peer (scripts/fetch_peers.sh) is absent.
A gemma GGUF missing a norm tensor, written here with the `gguf` package,
must fail with one line naming the file and the tensor.
"""
import io
import pathlib
import sys

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from conftest import CACHE, run
from test_bad_input import expect_error
from test_gguf_oracle import assert_bit_equal
from test_llama_oracle import reference, relative, wquant_logits
import tiny_models

LLAMA_CPP = CACHE / "peers" / "llama.cpp-0.3.36"
CONVERT = LLAMA_CPP / "convert_hf_to_gguf.py"
QUANTIZE = LLAMA_CPP / "build" / "bin" / "llama-quantize"
IDS = [1, 5, 9, 17, 33, 64, 100, 127, 3, 2]
GREEDY = 16

# The tiny spec changes each GGUF needs, and why. Every model gets
# intermediate_size 256 so that ffn_down's rows (256 values) take llama.cpp's
# K-quants in (c) (their 256-value superblocks; 128-wide rows fall back to
# Q5_0 / Q8_0).
OVERRIDES = {
    "qwen3": {},
    "gemma": {},
    # GGUF has no key for query_pre_attn_scalar: llama.cpp scales by
    # 1/sqrt(head_dim) except in the 27B models (src/models/gemma2.cpp), so
    # the spec's 24 cannot survive the conversion; 32 = head_dim can. Layer 0
    # keeps its 4-key window and both soft-caps stay.
    "gemma2": {"query_pre_attn_scalar": 32},
    # Same scale rule (gemma3.cpp). GGUF has no layer_types either: llama.cpp
    # makes five of every six layers sliding (load_swa_pattern(ml, 6)), so
    # the model has six layers with Hugging Face's default pattern (the same
    # rule): sliding layers 0-4 (base 10^4, 4-key window), full layer 5 (10^6).
    "gemma3_text": {"query_pre_attn_scalar": 32, "num_hidden_layers": 6, "layer_types": None},
    # Rotary on half of each head and a 6-key window, as the spec has them.
    "phi3": {},
}
ARCHS = list(OVERRIDES)
GGUF_ARCH = {"qwen3": "QWEN3", "gemma": "GEMMA", "gemma2": "GEMMA2", "gemma3_text": "GEMMA3",
             "phi3": "PHI3"}

needs_converter = pytest.mark.skipif(
    not CONVERT.exists(),
    reason=f"{CONVERT} missing: llama.cpp's converter comes with scripts/fetch_peers.sh")


def sentencepiece_model() -> bytes:
    """Returns a SentencePiece BPE model of 100 pieces trained on a fixed text
    (one thread: the same bytes every run). The converter pads the vocabulary
    to the config's 128 with [PAD<i>] tokens."""
    spm = pytest.importorskip("sentencepiece", reason="the converter needs sentencepiece "
                                                      "(scripts/fetch_peers.sh installs it)")
    text = ["In the beginning God created the heaven and the earth.",
            "And the earth was without form, and void; and darkness was upon the deep."] * 20
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(text), model_writer=out,
                                   vocab_size=100, model_type="bpe", num_threads=1,
                                   character_coverage=1.0, hard_vocab_limit=False,
                                   minloglevel=2)
    return out.getvalue()


def set_distinct_norms(model: torch.nn.Module, directory: pathlib.Path):
    """Gives every RMSNorm weight its own values and saves the model again.
    Initialised norms are all equal (ones, or gemma's zeros), so two swapped
    names (gemma2's post_attention_layernorm vs pre_feedforward_layernorm)
    would go unseen. Values are multiples of 1/64 in [-0.5, 0.5] (gemma's w)
    or [0.5, 1.5] (the others), so gemma's stored w + 1 and wquant's w + 1 - 1
    are exact in f32 and the tensors can be compared bit for bit."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p += torch.randint(-32, 33, p.shape, generator=g).float() / 64
    model.save_pretrained(directory)


@pytest.fixture(scope="module")
def tokenizer_model() -> bytes:
    return sentencepiece_model()


@pytest.fixture(scope="module", params=ARCHS)
def converted(request, tokenizer_model, tmp_path_factory):
    """Returns (arch, Hugging Face model, its directory, the f32 GGUF)."""
    if not CONVERT.exists():
        pytest.skip(f"{CONVERT} missing: llama.cpp's converter comes with scripts/fetch_peers.sh")
    arch = request.param
    root = tmp_path_factory.mktemp(f"gguf_{arch}")
    hf_dir = root / "hf"
    model = tiny_models.build(arch, hf_dir, intermediate_size=256, **OVERRIDES[arch])
    set_distinct_norms(model, hf_dir)
    (hf_dir / "tokenizer.model").write_bytes(tokenizer_model)
    gguf_path = root / f"{arch}.f32.gguf"
    run([sys.executable, CONVERT, hf_dir, "--outfile", gguf_path, "--outtype", "f32"],
        timeout=600)
    return arch, model.eval(), hf_dir, gguf_path


def dump(tool_bin, gguf_path: pathlib.Path):
    """Returns (tensors, config) as wquant reads the GGUF."""
    import json
    out = gguf_path.with_suffix(".dump.safetensors")
    run([tool_bin("dump_checkpoint"), gguf_path, out], timeout=120)
    config = json.loads(out.with_name(out.name.replace(".safetensors", ".config.json")).read_text())
    return load_file(str(out)), config


# The config keys that decide the model; transformers fills its defaults on
# both sides. Token ids are left out: they come from the tokenizer.
CONFIG_KEYS = ["model_type", "hidden_size", "intermediate_size", "num_hidden_layers",
               "num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size",
               "max_position_embeddings", "tie_word_embeddings", "rope_parameters",
               "hidden_act", "hidden_activation", "sliding_window", "layer_types",
               "query_pre_attn_scalar", "attn_logit_softcapping", "final_logit_softcapping",
               "partial_rotary_factor", "attention_bias", "use_sliding_window"]


def as_f32(value):
    """Returns value with every float rounded to f32, as the GGUF stores them
    (0.02 reads back as 0.019999999552965164)."""
    if isinstance(value, float):
        return float(np.float32(value))
    if isinstance(value, dict):
        return {k: as_f32(v) for k, v in value.items()}
    return value


@needs_converter
def test_tensors_and_config_equal_the_original(converted, tool_bin):
    from transformers import AutoConfig
    arch, _, hf_dir, gguf_path = converted
    ours, config = dump(tool_bin, gguf_path)
    original = load_file(str(hf_dir / "model.safetensors"))
    assert sorted(ours) == sorted(original)
    for name, ref in original.items():
        assert_bit_equal(ours[name], ref, name)

    theirs = AutoConfig.from_pretrained(hf_dir)
    synthesised = AutoConfig.for_model(**config)
    compared = [k for k in CONFIG_KEYS + ["rms_norm_eps"] if hasattr(theirs, k)]
    for key in compared:
        ours_value, their_value = getattr(synthesised, key, None), getattr(theirs, key)
        assert as_f32(ours_value) == as_f32(their_value), f"{key}: {ours_value} vs {their_value}"
    print(f"{arch}: {len(original)} tensors bit-equal; config keys equal: {compared}")


@needs_converter
def test_logits_match_transformers(converted, tool_bin, tmp_path):
    arch, model, _, gguf_path = converted
    ours, ours_gen = wquant_logits(tool_bin, gguf_path, IDS, tmp_path, greedy=GREEDY)
    ref, ref_gen = reference(model, IDS, greedy=GREEDY)
    rel = relative(ours, ref)
    print(f"{arch} f32 GGUF: logits max rel diff {rel:.2e}")
    # Same f32 weights on both sides; only the summation order differs.
    # Measured 2026-11-30: qwen3 4.2e-7, gemma 1.6e-7, gemma2 2.7e-6 (its
    # 0.02 / 0.1 soft-caps magnify rounding), gemma3 8.6e-7, phi3 3.3e-7.
    assert rel < 1e-4
    assert ours_gen == ref_gen


def dequantized_state(gguf_path: pathlib.Path, model: torch.nn.Module, arch: str):
    """Returns {Hugging Face name: tensor} of the GGUF's tensors dequantized by
    the `gguf` package and named with its tensor-name map (the way
    transformers' GGUF loader names them), gemma's stored norm + 1 undone."""
    import gguf
    reader = gguf.GGUFReader(str(gguf_path))
    by_name = {t.name: t for t in reader.tensors}
    name_map = gguf.get_tensor_name_map(getattr(gguf.MODEL_ARCH, GGUF_ARCH[arch]),
                                        model.config.num_hidden_layers)
    state = {}
    for hf_name in model.state_dict():
        if hf_name == "lm_head.weight" and model.config.tie_word_embeddings:
            continue
        gguf_name = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        t = by_name.pop(gguf_name)
        w = gguf.quants.dequantize(t.data, t.tensor_type)
        w = np.ascontiguousarray(w.reshape(tuple(reversed(t.shape.tolist()))), np.float32)
        if arch.startswith("gemma") and hf_name.endswith("norm.weight"):
            w = w - np.float32(1)
        state[hf_name] = torch.from_numpy(w.copy())  # the reader's arrays are read-only
    assert not by_name, f"GGUF tensors not mapped back: {sorted(by_name)}"
    return state, {t.tensor_type.name for t in reader.tensors}


@needs_converter
@pytest.mark.skipif(not QUANTIZE.exists(),
                    reason=f"{QUANTIZE} missing: llama.cpp is built by scripts/fetch_peers.sh")
def test_q4_k_m_logits_match_transformers_on_the_same_weights(converted, tool_bin, tmp_path):
    import copy
    arch, model, _, gguf_path = converted
    q_path = tmp_path / f"{arch}.Q4_K_M.gguf"
    run([QUANTIZE, gguf_path, q_path, "Q4_K_M"], timeout=300)
    state, types = dequantized_state(q_path, model, arch)
    assert types & {"Q4_K", "Q5_K", "Q6_K"}, types  # the K-quants are exercised
    ref_model = copy.deepcopy(model)
    ref_model.load_state_dict(state, strict=not model.config.tie_word_embeddings)
    ours, ours_gen = wquant_logits(tool_bin, q_path, IDS, tmp_path, greedy=GREEDY)
    ref, ref_gen = reference(ref_model.eval(), IDS, greedy=GREEDY)
    rel = relative(ours, ref)
    print(f"{arch} Q4_K_M ({', '.join(sorted(types))}): logits max rel diff {rel:.2e}")
    # Both sides run the same f32 weights (the gguf package's dequantization
    # and wquant's are bit-exact: test_gguf_quants_oracle.py), so only the
    # summation order differs, as at f32. Measured 2026-11-30: qwen3 4.2e-7,
    # gemma 8.0e-8, gemma2 2.2e-6, gemma3 6.6e-7, phi3 3.3e-7.
    assert rel < 1e-4
    assert ours_gen == ref_gen


# ------------------------------------------------------------ bad input


def write_gemma_gguf(path: pathlib.Path, skip: str | None = None) -> pathlib.Path:
    """Writes a one-layer gemma GGUF by hand (hidden 8, 2 heads of 4, 1 KV
    head, MLP 16, vocabulary 5), without tensor `skip`."""
    from gguf import GGUFWriter
    rng = np.random.default_rng(0)
    shapes = {  # Hugging Face order: [out, in]
        "token_embd.weight": (5, 8), "output_norm.weight": (8,),
        "blk.0.attn_norm.weight": (8,), "blk.0.attn_q.weight": (8, 8),
        "blk.0.attn_k.weight": (4, 8), "blk.0.attn_v.weight": (4, 8),
        "blk.0.attn_output.weight": (8, 8), "blk.0.ffn_norm.weight": (8,),
        "blk.0.ffn_gate.weight": (16, 8), "blk.0.ffn_up.weight": (16, 8),
        "blk.0.ffn_down.weight": (8, 16),
    }
    w = GGUFWriter(str(path), "gemma")
    w.add_context_length(64)
    w.add_embedding_length(8)
    w.add_block_count(1)
    w.add_feed_forward_length(16)
    w.add_head_count(2)
    w.add_head_count_kv(1)
    w.add_key_length(4)
    w.add_value_length(4)
    w.add_layer_norm_rms_eps(1e-6)
    for name, shape in shapes.items():
        if name != skip:
            w.add_tensor(name, rng.standard_normal(shape).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_gemma_gguf_runs_when_complete(tool_bin, tmp_path):
    """The control for the next test: the hand-written file is a valid gemma."""
    path = write_gemma_gguf(tmp_path / "gemma.gguf")
    logits, gen = wquant_logits(tool_bin, path, [1, 2, 3], tmp_path, greedy=2)
    assert logits.shape == (3, 5) and np.isfinite(logits).all() and len(gen) == 2


@pytest.mark.parametrize("missing", ["blk.0.ffn_norm.weight", "output_norm.weight"])
def test_gemma_gguf_missing_a_norm_is_one_error_line(wquant_bin, tmp_path, missing):
    path = write_gemma_gguf(tmp_path / "gemma.gguf", skip=missing)
    out = tmp_path / "out"
    expect_error(wquant_bin, ["quantize", path, "-o", out], inputs=[path], out=out,
                 contains=[str(path), f"tensor '{missing}'", "missing"])


@needs_converter
def test_gguf_vocabulary_matches_transformers(converted, tool_bin):
    """The SentencePiece vocabulary llama.cpp's converter wrote (tokenizer.ggml.model
    "llama", shaped per architecture) against the tokenizer transformers builds
    from the same GGUF: ids and decoded text on Bible verses and awkward strings."""
    from transformers import AutoTokenizer
    from test_tokenizer_oracle import AWKWARD, Tool, assert_same, english_lines
    arch, _, _, gguf_path = converted
    if arch == "gemma":
        pytest.skip("transformers 5.23 loads no GGUF of architecture gemma (1); gemma2 / gemma3 are checked")
    ref = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    tool = Tool(tool_bin("tokenize"), "--gguf", gguf_path)
    texts = english_lines(300) + AWKWARD
    ids = ref(texts)["input_ids"]
    assert_same(tool.encode(texts), ids, texts, f"{arch} GGUF vocabulary ids")
    for skip in (False, True):
        want = [ref.decode(i, skip_special_tokens=skip) for i in ids]
        assert_same(tool.decode(ids, skip), want, ids, f"{arch} GGUF vocabulary decode")
