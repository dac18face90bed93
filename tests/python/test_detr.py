"""DETR (the seeds' facebook/detr-resnet-50) through `wquant quantize`, on a
tiny DetrForObjectDetection that transformers builds with its own ResNet
backbone (no timm), saved as the hub checkpoint is (out_proj, fc1 / fc2,
backbone.conv_encoder names):

* the quantized layers are exactly the model's torch.nn.Linear modules: the
  encoder / decoder attention and MLP layers and the class / box heads; the
  convolutional backbone, input_projection and the query embeddings are
  copied bit for bit, and the report gives the footprint;
* compressed-tensors' own decompressor of the output, put into the float
  model, gives logits and boxes close to the float model's.

transformers 5.23 cannot load a compressed DETR itself: with
run_compressed=False its dequantize-on-load stops on the backbone's frozen
batch norms ("weight is not an nn.Parameter"), and in compressed mode its
renaming of the hub names (out_proj -> o_proj, fc1 -> mlp.fc1) happens after
compressed-tensors has matched its targets, so those layers load as missing.
The test therefore maps the names as transformers does (DETR_RENAMES).
"""
import json
import re

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from conftest import run
from ct_reference import decompress

# transformers' conversion_mapping.py, "DetrModel": hub names -> module names.
DETR_RENAMES = [("backbone.conv_encoder", "backbone"), ("out_proj", "o_proj"),
                (r"layers\.(\d+)\.fc1", r"layers.\1.mlp.fc1"), (r"layers\.(\d+)\.fc2", r"layers.\1.mlp.fc2")]
IMAGE = torch.randn(2, 3, 64, 80, generator=torch.Generator().manual_seed(0))


def module_name(file_name: str) -> str:
    for pattern, replacement in DETR_RENAMES:
        file_name = re.sub(pattern, replacement, file_name)
    return file_name


@pytest.fixture(scope="module")
def detr(tmp_path_factory):
    """(checkpoint dir, float model): a 1 + 1 layer DETR, d_model 32, on a
    4-stage basic-block ResNet from transformers."""
    from transformers import DetrConfig, DetrForObjectDetection, ResNetConfig
    backbone = ResNetConfig(num_channels=3, embedding_size=16, hidden_sizes=[16, 32, 32, 64],
                            depths=[1, 1, 1, 1], layer_type="basic", out_features=["stage4"])
    config = DetrConfig(use_timm_backbone=False, backbone_config=backbone, use_pretrained_backbone=False,
                        d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                        num_queries=10, num_labels=5)
    torch.manual_seed(0)
    model = DetrForObjectDetection(config).eval()
    path = tmp_path_factory.mktemp("detr") / "float"
    model.save_pretrained(path)
    return path, model


def quantize(wquant_bin, src, out, *flags):
    proc = run([wquant_bin, "quantize", src, "-o", out, "--json", "--no-progress", *flags])
    return json.loads(proc.stdout)


def outputs(model):
    """Class logits and the box head's output before its sigmoid (a random
    init leaves every box near 0.5, where the boxes themselves hide errors)."""
    with torch.no_grad():
        out = model(pixel_values=IMAGE)
    return out.logits, torch.logit(out.pred_boxes.double())


def dequantized_model(float_model, out):
    import copy
    model = copy.deepcopy(float_model)
    modules = dict(model.named_modules())
    for layer, w in decompress(out).items():
        modules[module_name(layer)].weight.data.copy_(w)
    return model


def test_detr_rules_and_footprint(detr, wquant_bin, tmp_path):
    src, model = detr
    report = quantize(wquant_bin, src, tmp_path / "w8")
    linear = {n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    assert report["model_type"] == "detr" and report["known_architecture"] is True
    assert {module_name(l["layer"]) for l in report["layers"]} == linear
    assert any(n.startswith("model.backbone") for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d))
    # Everything but the quantized weights is copied exactly.
    before, after = load_file(str(src / "model.safetensors")), load_file(str(tmp_path / "w8" / "model.safetensors"))
    quantized = {l["layer"] + ".weight" for l in report["layers"]}
    for name, t in before.items():
        if name not in quantized:
            np.testing.assert_array_equal(after[name], t, err_msg=name)
    # Footprint: the linear weights shrink (f32 -> int8 + a scale per row), the rest stays.
    linear_bytes = sum(l["bytes_before"] for l in report["layers"])
    assert report["total_bytes_before"] - report["total_bytes_after"] == linear_bytes - sum(
        l["bytes_after"] for l in report["layers"])
    print(f"tiny DETR W8: {report['total_bytes_before']} -> {report['total_bytes_after']} bytes")


# Tolerances, as a fraction of the float output's largest |value|, measured
# on 2026-11-30: W8 logits 0.0125, boxes (pre-sigmoid) 0.0086; W4 g32 asym
# logits 0.089, boxes 0.21. Each bound is ~3x the larger measure; with every
# linear layer's rows shuffled the measures were 1.95 (logits) and 1.18
# (boxes), with the weights doubled 1.08 and 7.1.
@pytest.mark.parametrize("flags,tolerance", [
    ([], 0.04),
    (["--bits", "4", "--group-size", "32", "--asymmetric"], 0.6),
], ids=["w8", "w4-g32-asym"])
def test_detr_dequantized_outputs_close_to_float(detr, wquant_bin, tmp_path, flags, tolerance):
    src, model = detr
    quantize(wquant_bin, src, tmp_path / "q", *flags)
    ref_logits, ref_boxes = outputs(model)
    logits, boxes = outputs(dequantized_model(model, tmp_path / "q"))
    rel_logits = ((logits - ref_logits).abs().max() / ref_logits.abs().max()).item()
    rel_boxes = ((boxes - ref_boxes).abs().max() / ref_boxes.abs().max()).item()
    print(f"tiny DETR {flags}: logits {rel_logits:.4f}, boxes {rel_boxes:.4f}")
    assert rel_logits < tolerance and rel_boxes < tolerance
