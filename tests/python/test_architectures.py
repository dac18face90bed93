"""wquant's per-architecture rules (src/pipeline/arch_rules.cpp), checked on tiny
random checkpoints built by transformers (tiny_models.py) against transformers
itself as the reference:

* the layers wquant quantizes are exactly the model's torch.nn.Linear / Conv1D
  modules minus lm_head; embeddings, norms and biases are copied unchanged;
  lm_head is in quantization_config.ignore when the file has it, and
  --include lm_head quantizes it; --dry-run plans the same set and writes nothing;
* the integers and scales equal the numpy reference (quant_reference.py) of the
  weight as [out, in] (GPT-2's Conv1D [in, out] weight transposed), bit for bit;
* transformers + compressed-tensors load the output (all but GPT-2, whose Conv1D
  compressed-tensors cannot replace), dequantize to the reference weights, and
  give logits close to the float model's;
* an unknown model_type falls back to the generic rule, and --override gives a
  second config group that transformers runs in its compressed mode.
"""
import copy
import json
import shutil

import numpy as np
import pytest
import torch
from compressed_tensors.compressors.pack_quantized.helpers import unpack_from_int32
from safetensors.numpy import load_file

import tiny_models
from conftest import run
from quant_reference import quantize_reference

ARCHS = list(tiny_models.SPECS)
# compressed-tensors replaces only torch.nn.Linear; GPT-2's Conv1D stays unloadable.
LOADABLE = [a for a in ARCHS if a != "gpt2"]
WITH_LM_HEAD = ["codegen", "llama", "mistral", "qwen3", "phi3"]  # untied: lm_head.weight is in the file
# run_compressed=False on a checkpoint that has a quantization_config: expected.
pytestmark = pytest.mark.filterwarnings("ignore:You passed `quantization_config`:UserWarning")
TOKENS = torch.tensor([[1, 5, 9, 17, 33, 65, 100, 127], [3, 1, 4, 1, 5, 9, 2, 6]])

# Forward-pass tolerance for the default W8 per-channel symmetric scheme, as a
# fraction of the float model's largest |logit| (last hidden state for bert).
# Measured on 2026-11-22: max |quantized - float| / max |float| = 0.00036 (bert),
# 0.0038 (gpt2), 0.0039 (qwen2), 0.0058-0.0064 (opt), 0.0082 (llama, mistral),
# 0.0100 (codegen) over these 2 x 8 tokens. 8-bit rounding moves each weight by
# at most scale/2 = max|w_row| / 254, so ~1% is the expected order; 0.03 leaves 3x
# margin for library drift. A wrong layout moves the output far more: with every
# linear weight's rows shuffled or doubled (a wrong scale) the same measure was
# 0.49-1.66 for llama and codegen. bert's output (after its final LayerNorm, on
# embeddings that dominate at random init) moves less: 0.05 shuffled, 0.16 doubled,
# hence its own tolerance, 5x its measured 0.00036.
#
# The gemmas are more sensitive (measured 2026-11-30): gemma2's soft-caps, set
# small so that they act on these tiny logits, saturate (W8 0.083; rows
# shuffled 2.0, doubled 0.79), and gemma3's q/k norms amplify rounding
# (W8 0.025; shuffled 1.37, doubled 0.24); each tolerance is 3x its measure.
W8_RELATIVE_TOL = {"bert": 0.002, "gemma2": 0.25, "gemma3_text": 0.08}
W8_RELATIVE_TOL_DEFAULT = 0.03


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """{arch: (checkpoint dir, float model)} for every tiny_models.SPECS entry."""
    root = tmp_path_factory.mktemp("tiny")
    return {a: (root / a, tiny_models.build(a, root / a)) for a in ARCHS}


@pytest.fixture(scope="module")
def quantize(wquant_bin, tmp_path_factory):
    """Returns quantize(arch_dir, *flags) -> (output dir, JSON report), run once per call."""
    cache = {}
    def go(src, *flags):
        key = (str(src), flags)
        if key not in cache:
            out = tmp_path_factory.mktemp("q") / "out"
            proc = run([wquant_bin, "quantize", src, "-o", out, "--json", "--no-progress", *flags])
            cache[key] = (out, json.loads(proc.stdout))
        return cache[key]
    return go


def expected_layers(model) -> set[str]:
    return set(tiny_models.linear_modules(model)) - {"lm_head"}


def reference(w: torch.Tensor, bits=8, strategy="channel", group_size=None):
    """Returns (q, scale, dequantized) of the symmetric numpy reference."""
    q, scale, _ = quantize_reference(w.numpy(), bits, strategy, group_size, True)
    width = w.shape[1] if strategy == "channel" else group_size
    return q, scale, q.astype(np.float32) * np.repeat(scale, width, axis=1)


def check_layer_bits(tensors, name, w_out_in, bits=8, strategy="channel", group_size=None):
    """Checks wquant's tensors of layer `name` against the reference of w_out_in [out, in]."""
    rows, cols = w_out_in.shape
    q_ref, scale_ref, _ = reference(w_out_in, bits, strategy, group_size)
    assert tensors[name + ".weight_shape"].tolist() == [rows, cols], name
    q = unpack_from_int32(torch.from_numpy(tensors[name + ".weight_packed"]), bits,
                          torch.Size([rows, cols])).numpy()
    np.testing.assert_array_equal(q, q_ref, err_msg=name)
    np.testing.assert_array_equal(tensors[name + ".weight_scale"], scale_ref, err_msg=name)
    assert name + ".weight_zero_point" not in tensors, name  # symmetric
    assert name + ".weight" not in tensors, name


def load_dequantized(path, arch):
    """Loads a wquant output with transformers, decompressed to float32
    (see test_compressed_tensors_oracle._load for why run_compressed=False)."""
    from transformers import CompressedTensorsConfig
    return tiny_models.auto_class(arch).from_pretrained(
        path, dtype=torch.float32,
        quantization_config=CompressedTensorsConfig(run_compressed=False)).eval()


def forward(model) -> torch.Tensor:
    with torch.no_grad():
        out = model(input_ids=TOKENS)
    return out.logits if hasattr(out, "logits") else out.last_hidden_state


def relative_diff(quantized: torch.Tensor, float_: torch.Tensor) -> float:
    return ((quantized - float_).abs().max() / float_.abs().max()).item()


@pytest.mark.parametrize("arch", ARCHS)
def test_quantizes_exactly_the_linear_modules(arch, tiny, quantize):
    src, model = tiny[arch]
    out, report = quantize(src)
    expected = expected_layers(model)
    assert report["model_type"] == tiny_models.SPECS[arch].model_type
    assert report["known_architecture"] is True
    assert {l["layer"] for l in report["layers"]} == expected

    qc = json.loads((out / "config.json").read_text())["quantization_config"]
    targets = [t for g in qc["config_groups"].values() for t in g["targets"]]
    assert sorted(targets) == sorted(expected)
    has_lm_head = "lm_head.weight" in tiny_models.tensor_names(src)
    assert has_lm_head == (arch in WITH_LM_HEAD)
    assert qc["ignore"] == (["lm_head"] if has_lm_head else [])

    # Everything that is not a quantized weight (embeddings, norms, biases,
    # lm_head) is copied unchanged.
    before = load_file(str(src / "model.safetensors"))
    after = load_file(str(out / "model.safetensors"))
    kept = {n for n in before if n.removesuffix(".weight") not in expected}
    assert kept == {n for n in after if not n.rsplit(".", 1)[1].startswith("weight_")}
    for n in kept:
        np.testing.assert_array_equal(after[n], before[n], err_msg=n)
    assert any("embed" in n or "wte" in n or "word_embeddings" in n for n in kept)
    assert any("norm" in n.lower() or ".ln_" in n for n in kept)


@pytest.mark.parametrize("arch", ARCHS)
def test_dry_run_plans_the_same_and_writes_nothing(arch, tiny, wquant_bin, tmp_path):
    from transformers.pytorch_utils import Conv1D
    src, model = tiny[arch]
    out = tmp_path / "never"
    plan = json.loads(run([wquant_bin, "quantize", src, "-o", out, "--dry-run", "--json"]).stdout)
    assert not out.exists()
    linear = tiny_models.linear_modules(model)
    planned = {t["tensor"].removesuffix(".weight") for t in plan["tensors"] if t["quantize"]}
    assert planned == expected_layers(model)
    assert plan["quantized"] == len(planned)
    for t in plan["tensors"]:
        layer = t["tensor"].removesuffix(".weight")
        assert t["transposed"] == (t["quantize"] and isinstance(linear[layer], Conv1D)), t
        if not t["quantize"]:
            assert t.get("scheme") is None
            if t["tensor"] == "lm_head.weight":
                assert t["reason"] == "lm_head, excluded by default"


@pytest.mark.parametrize("arch", ARCHS)
def test_integers_and_scales_match_reference(arch, tiny, quantize):
    src, model = tiny[arch]
    out, report = quantize(src)
    tensors = load_file(str(out / "model.safetensors"))
    linear = tiny_models.linear_modules(model)
    for layer in report["layers"]:
        check_layer_bits(tensors, layer["layer"], tiny_models.weight_out_in(linear[layer["layer"]]))


@pytest.mark.parametrize("arch", LOADABLE)
def test_transformers_loads_reference_weights_and_runs(arch, tiny, quantize):
    src, model = tiny[arch]
    out, report = quantize(src)
    loaded = load_dequantized(out, arch)
    modules = dict(loaded.named_modules())
    float_linear = tiny_models.linear_modules(model)
    for name in expected_layers(model):
        _, _, w_ref = reference(float_linear[name].weight.detach())
        np.testing.assert_array_equal(modules[name].weight.detach().numpy(), w_ref, err_msg=name)
    # Everything else loads as the float model has it (lm_head included, tied or not).
    float_params = dict(model.named_parameters())
    for name, p in loaded.named_parameters():
        if name.removesuffix(".weight") not in float_linear or name.startswith("lm_head"):
            assert torch.equal(p, float_params[name]), name
    diff = relative_diff(forward(loaded), forward(model))
    print(f"{arch}: W8 forward max|diff| / max|float| = {diff:.5f}")
    assert diff <= W8_RELATIVE_TOL.get(arch, W8_RELATIVE_TOL_DEFAULT)


def test_gpt2_dequantized_conv1d_runs(tiny, quantize):
    """GPT-2 cannot be loaded by compressed-tensors (Conv1D), so its output is
    unpacked with compressed-tensors' helper and the [out, in] weights put back
    into the Conv1D modules transposed; the model must then match the float one."""
    src, model = tiny["gpt2"]
    out, report = quantize(src)
    tensors = load_file(str(out / "model.safetensors"))
    quantized = copy.deepcopy(model)
    linear = tiny_models.linear_modules(quantized)
    for layer in report["layers"]:
        name = layer["layer"]
        rows, cols = tensors[name + ".weight_shape"].tolist()
        q = unpack_from_int32(torch.from_numpy(tensors[name + ".weight_packed"]), 8,
                              torch.Size([rows, cols]))
        w = q.float() * torch.from_numpy(tensors[name + ".weight_scale"])
        assert tuple(linear[name].weight.shape) == (cols, rows), name  # Conv1D: [in, out]
        with torch.no_grad():
            linear[name].weight.copy_(w.t())
    diff = relative_diff(forward(quantized), forward(model))
    print(f"gpt2: W8 forward max|diff| / max|float| = {diff:.5f}")
    assert diff <= W8_RELATIVE_TOL_DEFAULT


@pytest.mark.parametrize("arch", ARCHS)
def test_include_lm_head(arch, tiny, wquant_bin, quantize, tmp_path):
    src, model = tiny[arch]
    if arch not in WITH_LM_HEAD:
        # Tied: no lm_head tensor to include, and wquant says so instead of ignoring it.
        proc = run([wquant_bin, "quantize", src, "-o", tmp_path / "o", "--include", "lm_head"],
                   check=False)
        assert proc.returncode != 0 and "--include lm_head: matches no tensor" in proc.stderr
        return
    out, report = quantize(src, "--include", "lm_head")
    assert {l["layer"] for l in report["layers"]} == expected_layers(model) | {"lm_head"}
    qc = json.loads((out / "config.json").read_text())["quantization_config"]
    assert qc["ignore"] == []
    assert "lm_head" in qc["config_groups"]["group_0"]["targets"]
    tensors = load_file(str(out / "model.safetensors"))
    check_layer_bits(tensors, "lm_head", model.lm_head.weight.detach())
    loaded = load_dequantized(out, arch)
    _, _, w_ref = reference(model.lm_head.weight.detach())
    np.testing.assert_array_equal(loaded.lm_head.weight.detach().numpy(), w_ref)
    if arch == "codegen":  # lm_head has a bias, kept in float
        assert torch.equal(loaded.lm_head.bias, model.lm_head.bias)


def test_unknown_model_type_uses_generic_rule(tiny, quantize, wquant_bin, tmp_path):
    """A llama checkpoint relabelled model_type "mystery": the generic rule
    (2-D .weight, not embedding or norm, not lm_head) finds the same layers and
    writes the same tensors as the llama rule."""
    src, model = tiny["llama"]
    mystery = tmp_path / "mystery"
    shutil.copytree(src, mystery)
    config = json.loads((mystery / "config.json").read_text())
    config["model_type"] = "mystery"
    config["architectures"] = ["MysteryForCausalLM"]
    (mystery / "config.json").write_text(json.dumps(config))

    plan = json.loads(run([wquant_bin, "quantize", mystery, "-o", tmp_path / "never",
                           "--dry-run", "--json"]).stdout)
    assert plan["model_type"] == "generic" and plan["known_architecture"] is False
    reasons = {t["tensor"]: t["reason"] for t in plan["tensors"]}
    assert reasons["model.embed_tokens.weight"] == "embedding, excluded by default"
    assert reasons["lm_head.weight"] == "lm_head, excluded by default"
    assert reasons["model.norm.weight"] == "not a linear layer"

    out, report = quantize(mystery)
    assert report["model_type"] == "generic" and report["known_architecture"] is False
    assert {l["layer"] for l in report["layers"]} == expected_layers(model)
    qc = json.loads((out / "config.json").read_text())["quantization_config"]
    assert qc["ignore"] == ["lm_head"]
    llama_out, _ = quantize(src)
    generic, by_rule = load_file(str(out / "model.safetensors")), load_file(str(llama_out / "model.safetensors"))
    assert generic.keys() == by_rule.keys()
    for n in generic:
        np.testing.assert_array_equal(generic[n], by_rule[n], err_msg=n)


# Tolerance for llama with the MLP at w4 g32 and attention at w8: 4-bit steps
# are 18x coarser (scale = max|w_group| / 7 vs / 127). Measured max|diff| /
# max|float| = 0.043 on 2026-11-22; 0.15 is 3.5x that, still far below a broken
# layout's ~1. Against the reference-dequantized float model the compressed-mode
# forward must agree up to float32 summation order (measured: identical, 0.0).
MIXED_RELATIVE_TOL = 0.15


def test_mixed_precision_override_loads_compressed(tiny, quantize):
    from transformers import AutoModelForCausalLM
    src, model = tiny["llama"]
    out, report = quantize(src, "--override", "*.mlp.*=w4-g32")
    layers = expected_layers(model)
    mlp = {n for n in layers if ".mlp." in n}
    assert len(mlp) == 6 and len(layers - mlp) == 8

    groups = json.loads((out / "config.json").read_text())["quantization_config"]["config_groups"]
    assert len(groups) == 2
    by_bits = {g["weights"]["num_bits"]: g for g in groups.values()}
    assert set(by_bits) == {4, 8}
    assert set(by_bits[4]["targets"]) == mlp
    assert by_bits[4]["weights"]["strategy"] == "group" and by_bits[4]["weights"]["group_size"] == 32
    assert by_bits[4]["weights"]["symmetric"] is True
    assert set(by_bits[8]["targets"]) == layers - mlp
    assert by_bits[8]["weights"]["strategy"] == "channel"

    tensors = load_file(str(out / "model.safetensors"))
    linear = tiny_models.linear_modules(model)
    for name in layers:
        w = linear[name].weight.detach()
        if name in mlp:
            check_layer_bits(tensors, name, w, bits=4, strategy="group", group_size=32)
        else:
            check_layer_bits(tensors, name, w)

    # Default load: compressed mode, layers stay packed and run through
    # compressed-tensors' forward (decompress on the fly).
    loaded = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    modules = dict(loaded.named_modules())
    for n in layers:
        params = dict(modules[n].named_parameters())
        assert "weight_packed" in params and "weight" not in params, n
    logits = forward(loaded)
    diff = relative_diff(logits, forward(model))
    print(f"llama w8 + mlp w4-g32: forward max|diff| / max|float| = {diff:.5f}")
    assert diff <= MIXED_RELATIVE_TOL

    # The same forward with the reference's dequantized weights in the float model.
    by_reference = copy.deepcopy(model)
    ref_linear = tiny_models.linear_modules(by_reference)
    with torch.no_grad():
        for name in layers:
            scheme = (4, "group", 32) if name in mlp else (8, "channel", None)
            _, _, w_ref = reference(linear[name].weight.detach(), *scheme)
            ref_linear[name].weight.copy_(torch.from_numpy(w_ref))
    exact = relative_diff(logits, forward(by_reference))
    print(f"llama w8 + mlp w4-g32: compressed mode vs reference weights = {exact:.2e}")
    assert exact <= 1e-5


def test_bert_mlm_head_transform_is_quantized(tmp_path, quantize):
    """BertForMaskedLM's cls.predictions.transform.dense is a torch.nn.Linear."""
    import transformers
    spec = tiny_models.SPECS["bert"]
    torch.manual_seed(tiny_models.SEED)
    config = transformers.AutoConfig.for_model(
        "bert", **{k: v for k, v in spec.config.items() if v is not None})
    model = transformers.BertForMaskedLM(config)
    model.save_pretrained(tmp_path / "bert-mlm")
    _, report = quantize(tmp_path / "bert-mlm")
    # cls.predictions.decoder is tied to the word embeddings: no tensor, lm_head's role.
    expected = set(tiny_models.linear_modules(model)) - {"cls.predictions.decoder"}
    assert {l["layer"] for l in report["layers"]} == expected
