"""Oracle tests for wquant's GGUF reader on the real SmolLM2-135M-Instruct Q4_1 GGUF.

dump_checkpoint writes every tensor as wquant reads it (Hugging Face names and
layout, f32) to safetensors, plus the synthesised config.json; both are
compared with two independent readers:
  (a) the `gguf` package: its own name map (gguf.get_tensor_name_map) and
      numpy dequantizers (gguf.quants.dequantize), with llama.cpp's Q/K row
      permutation re-applied to wquant's output (convert_hf_to_gguf.py's
      LlamaModel.permute, copied below);
  (b) transformers' GGUF loader (load_gguf_checkpoint, the function
      from_pretrained(..., gguf_file=...) calls; from_pretrained itself also
      requires `accelerate`, which is not in requirements.txt);
  (c) transformers' config from the GGUF (AutoConfig.from_pretrained(gguf_file=)).

Tolerance: bit-exact (0 ulp). Both dequantizers evaluate the same f32 formula
(Q4_1: q * d + m, Q8_0: q * d) and every product of a small integer with an
f16 scale is exact in f32, so there is a single rounding (Q4_1's + m) with no
room for the two to differ.
"""
import pathlib
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file

from conftest import run


def llama_cpp_permute(w: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """convert_hf_to_gguf.py LlamaModel.permute: Hugging Face rows -> GGUF rows."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


def assert_bit_equal(ours: np.ndarray, ref: np.ndarray, name: str):
    assert ours.dtype == np.float32 and ref.dtype == np.float32, name
    assert ours.shape == ref.shape, f"{name}: {ours.shape} vs {ref.shape}"
    diff = ours.view(np.uint32) != ref.view(np.uint32)
    if diff.any():
        i = np.flatnonzero(diff)[0]
        raise AssertionError(f"{name}: {diff.sum()} of {diff.size} values differ, first at flat "
                             f"index {i}: {ours.flat[i]!r} vs {ref.flat[i]!r}")


@pytest.fixture(scope="module")
def dump(tool_bin, smollm2_gguf, tmp_path_factory):
    """Returns (tensors dict, config dict) as wquant reads the GGUF."""
    import json
    out = tmp_path_factory.mktemp("gguf_dump") / "smollm2.safetensors"
    run([tool_bin("dump_checkpoint"), smollm2_gguf, out], timeout=120)
    config = json.loads(out.with_name("smollm2.config.json").read_text())
    return load_file(str(out)), config


@pytest.fixture(scope="module")
def reader(smollm2_gguf):
    import gguf
    return gguf.GGUFReader(str(smollm2_gguf))


@pytest.fixture(scope="module")
def transformers_loaded(smollm2_gguf):
    """Returns (config, state dict) from transformers' GGUF loader."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint
    config = AutoConfig.from_pretrained(smollm2_gguf.parent, gguf_file=smollm2_gguf.name)
    with torch.device("meta"):  # only its parameter names are needed
        model = AutoModelForCausalLM.from_config(config)
    parsed = load_gguf_checkpoint(str(smollm2_gguf), return_tensors=True, model_to_load=model)
    return config, parsed["tensors"]


def test_dump_has_one_tensor_per_gguf_tensor(dump, reader):
    tensors, _ = dump
    assert len(tensors) == len(reader.tensors) == 272
    types = {t.tensor_type.name for t in reader.tensors}
    assert types == {"F32", "Q4_1", "Q8_0"}  # the formats this test exercises
    assert "lm_head.weight" not in tensors   # tied: the GGUF has no output.weight


def test_tensors_equal_gguf_package_dequantize(dump, reader):
    import gguf
    tensors, config = dump
    n_head = config["num_attention_heads"]
    n_head_kv = config["num_key_value_heads"]
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config["num_hidden_layers"])
    by_gguf_name = {t.name: t for t in reader.tensors}
    for hf_name, ours in tensors.items():
        gguf_name = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        assert gguf_name in by_gguf_name, f"{hf_name} -> {gguf_name}"
        t = by_gguf_name.pop(gguf_name)
        ref = gguf.quants.dequantize(t.data, t.tensor_type)
        ref = np.ascontiguousarray(ref.reshape(tuple(reversed(t.shape.tolist()))), np.float32)
        if gguf_name.endswith("attn_q.weight"):
            ours = llama_cpp_permute(ours, n_head, n_head)
        elif gguf_name.endswith("attn_k.weight"):
            ours = llama_cpp_permute(ours, n_head, n_head_kv)
        assert_bit_equal(np.ascontiguousarray(ours), ref, hf_name)
    assert not by_gguf_name, f"GGUF tensors missing from the dump: {sorted(by_gguf_name)}"


def test_tensors_equal_transformers_gguf_loader(dump, transformers_loaded):
    tensors, _ = dump
    _, state = transformers_loaded
    assert sorted(tensors) == sorted(state)
    for name, ref in state.items():
        assert_bit_equal(tensors[name], ref.numpy(), name)


def test_config_matches_transformers(dump, transformers_loaded):
    _, ours = dump
    theirs, _ = transformers_loaded
    for key in ["model_type", "hidden_size", "intermediate_size", "num_hidden_layers",
                "num_attention_heads", "num_key_value_heads", "head_dim", "rms_norm_eps",
                "max_position_embeddings", "vocab_size", "tie_word_embeddings",
                "bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id"]:
        assert ours[key] == getattr(theirs, key), key
    assert ours["rope_theta"] == theirs.rope_parameters["rope_theta"]
    assert ours["architectures"] == ["LlamaForCausalLM"]
    assert ours["torch_dtype"] == "float32"
    # The synthesised config is one transformers accepts as a checkpoint's own.
    from transformers import AutoConfig
    reloaded = AutoConfig.for_model(**ours)
    assert reloaded.num_key_value_heads == 3 and reloaded.tie_word_embeddings is True


def test_truncated_gguf_is_rejected(tool_bin, smollm2_gguf, tmp_path):
    cut = tmp_path / "cut.gguf"
    with open(smollm2_gguf, "rb") as src, open(cut, "wb") as dst:
        dst.write(src.read(4 << 20))  # the header and the start of token_embd
    proc = run([tool_bin("dump_checkpoint"), cut, tmp_path / "out.safetensors"], check=False)
    assert proc.returncode == 1
    assert str(cut) in proc.stderr and "runs past the end of the file" in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1
