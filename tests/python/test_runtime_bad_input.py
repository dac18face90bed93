"""Bad inputs to the runtime commands (generate, eval, embed): a checkpoint
missing a tensor or holding one of the wrong shape, an unknown model_type, a
tokenizer file that does not parse, a token id outside the model's
vocabulary. Each must end in one "wquant: error: ..." line naming the file,
tensor and both shapes where they apply, exit code 1, nothing on stdout, and
the inputs unchanged (test_bad_input.expect_error's contract).

The checkpoints are tiny transformers-made models (tiny_models.py) edited in
tmp_path; the tokenizer is all-MiniLM-L6-v2's (any valid tokenizer.json: the
errors under test come from the model)."""
import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from test_bad_input import expect_error
import tiny_models


@pytest.fixture
def tokenizer(minilm_dir):
    return minilm_dir / "tokenizer.json"


def tiny(arch, tmp_path, edit=None):
    """Builds tiny model `arch` in tmp_path/arch; edit(tensors) may change its
    {name: array} before it is written back."""
    d = tmp_path / arch
    tiny_models.build(arch, d)
    if edit:
        tensors = load_file(str(d / "model.safetensors"))
        edit(tensors)
        save_file(tensors, str(d / "model.safetensors"), metadata={"format": "pt"})
    return d


@pytest.mark.parametrize("arch,tensor", [
    ("gpt2", "transformer.h.1.attn.c_attn.weight"),
    ("opt-350m", "model.decoder.project_in.weight"),
    ("codegen", "transformer.h.0.attn.qkv_proj.weight"),
    ("llama", "model.layers.1.mlp.down_proj.weight"),
    ("gemma2", "model.layers.0.post_feedforward_layernorm.weight"),
    ("gemma3_text", "model.layers.1.self_attn.k_norm.weight"),
    ("qwen3", "model.layers.0.self_attn.q_norm.weight"),
    ("phi3", "model.layers.1.mlp.gate_up_proj.weight"),
])
def test_missing_tensor_is_named(wquant_bin, tmp_path, tokenizer, arch, tensor):
    d = tiny(arch, tmp_path, lambda t: t.pop(tensor))
    expect_error(wquant_bin, ["generate", d, "-p", "hello", "--tokenizer", tokenizer],
                 inputs=[d], contains=[str(d), tensor])


# Each weight replaced by its transpose (gpt2's Conv1D: stored [in, out] =
# [64, 256], so the transpose [256, 64] is the wrong one).
@pytest.mark.parametrize("arch,tensor,stored,expected", [
    ("gpt2", "transformer.h.0.mlp.c_fc.weight", "[256, 64]", "[64, 256]"),
    ("opt", "model.decoder.layers.0.fc1.weight", "[64, 128]", "[128, 64]"),
    ("codegen", "transformer.h.1.mlp.fc_in.weight", "[64, 256]", "[256, 64]"),
    ("phi3", "model.layers.0.self_attn.qkv_proj.weight", "[64, 128]", "[128, 64]"),
])
def test_wrong_shape_names_tensor_and_both_shapes(wquant_bin, tmp_path, tokenizer, arch, tensor,
                                                  stored, expected):
    def transpose(t):
        t[tensor] = np.ascontiguousarray(t[tensor].T)
    d = tiny(arch, tmp_path, transpose)
    expect_error(wquant_bin, ["generate", d, "-p", "hello", "--tokenizer", tokenizer],
                 inputs=[d], contains=[str(d), tensor, stored, expected])


def test_unknown_model_type_lists_supported(wquant_bin, tmp_path, tokenizer):
    d = tiny("gpt2", tmp_path)
    config = json.loads((d / "config.json").read_text())
    config["model_type"] = "mamba"
    (d / "config.json").write_text(json.dumps(config))
    expect_error(wquant_bin, ["generate", d, "-p", "hello", "--tokenizer", tokenizer],
                 inputs=[d], contains=["'mamba'", "gpt2", "opt", "codegen", "llama", "qwen2"])


@pytest.mark.parametrize("rope", [
    {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0},
    {"rope_type": "longrope", "rope_theta": 10000.0},
])
@pytest.mark.parametrize("arch", ["llama", "phi3"])
def test_rope_scaling_is_refused_not_ignored(wquant_bin, tmp_path, tokenizer, arch, rope):
    """Running a scaled rotary embedding unscaled would give plausible but
    wrong output; the config's rope type must be named instead."""
    d = tiny(arch, tmp_path)
    config = json.loads((d / "config.json").read_text())
    config["rope_parameters"] = rope
    (d / "config.json").write_text(json.dumps(config))
    expect_error(wquant_bin, ["generate", d, "-p", "hello", "--tokenizer", tokenizer],
                 inputs=[d], contains=[str(d), f"rope type '{rope['rope_type']}' is not supported"])


def test_gemma_bad_layer_types(wquant_bin, tmp_path, tokenizer):
    d = tiny("gemma2", tmp_path)
    config = json.loads((d / "config.json").read_text())
    config["layer_types"] = ["sliding_attention", "chunked_attention"]
    (d / "config.json").write_text(json.dumps(config))
    expect_error(wquant_bin, ["generate", d, "-p", "hello", "--tokenizer", tokenizer],
                 inputs=[d], contains=[str(d), "'layer_types'[1]", "chunked_attention"])


def test_codegen_heads_not_a_multiple_of_four(wquant_bin, tmp_path, tokenizer):
    d = tiny("codegen", tmp_path)
    config = json.loads((d / "config.json").read_text())
    config["n_head"] = 2
    (d / "config.json").write_text(json.dumps(config))
    expect_error(wquant_bin, ["generate", d, "-p", "hello", "--tokenizer", tokenizer],
                 inputs=[d], contains=[str(d), "n_head 2"])


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"model": {"type": "Unigram"}}'],
                         ids=["empty", "not_json", "unsupported_model"])
@pytest.mark.parametrize("command", ["generate", "eval", "embed"])
def test_tokenizer_that_does_not_parse(wquant_bin, tmp_path, command, content):
    d = tiny("bert" if command == "embed" else "gpt2", tmp_path)
    bad = tmp_path / "tokenizer.json"
    bad.write_bytes(content)
    text = tmp_path / "text.txt"
    text.write_text("In the beginning God created the heaven and the earth.\n" * 20)
    args = {"generate": ["generate", d, "-p", "hello"],
            "eval": ["eval", d, "--text", text],
            "embed": ["embed", d, "hello"]}[command]
    expect_error(wquant_bin, [*args, "--tokenizer", bad], inputs=[d, bad], contains=[str(bad)])


def test_token_id_outside_the_vocabulary(wquant_bin, tmp_path, tokenizer):
    # MiniLM's WordPiece ids run to 30521; the tiny model's vocabulary is 128.
    d = tiny("gpt2", tmp_path)
    expect_error(wquant_bin, ["generate", d, "-p", "hello world", "--raw", "-n", "8", "--tokenizer", tokenizer],
                 inputs=[d], contains=["token id", "vocabulary of 128"])
