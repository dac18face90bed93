"""compressed-tensors as the reference dequantizer of wquant's output, for
checkpoints that transformers' own loader cannot take (see decompress)."""
import json

def decompress(path):
    """Returns {layer: float32 weight} dequantized by compressed-tensors' own
    pack-quantized compressor, each layer with the scheme of its config group.

    Not transformers' loader: for a checkpoint with several config groups
    (here g128 for 1536-wide layers and g96 for 576-wide ones, since 128 does
    not divide 576), transformers 5.23's dequantize-on-load applies the first
    group's scheme to every layer (get_dense_scheme), and its compressed mode
    rejects packed asymmetric zero-points (see test_compressed_tensors_oracle)."""
    from compressed_tensors.compressors.pack_quantized.base import PackedQuantizationCompressor
    from compressed_tensors.quantization import QuantizationConfig
    from safetensors.torch import load_file
    config = QuantizationConfig.model_validate(
        json.loads((path / "config.json").read_text())["quantization_config"])
    tensors = load_file(str(path / "model.safetensors"))
    weights = {}
    for group in config.config_groups.values():
        for layer in group.targets:
            sd = {k.removeprefix(layer + "."): v for k, v in tensors.items()
                  if k.startswith(layer + ".weight_")}
            weights[layer] = PackedQuantizationCompressor.decompress(sd, group)["weight"].float()
    return weights


def quantized_model(float_model, path):
    """Returns a copy of the float model whose linear weights are the ones
    compressed-tensors dequantizes from wquant's output, and whose other
    tensors (norms, biases: AWQ folds scales into them) are the output's
    where it has them. GPT-2's Conv1D modules store their weight [in, out];
    wquant's output stores [out, in]."""
    import copy
    from safetensors.torch import load_file
    from transformers.pytorch_utils import Conv1D
    model = copy.deepcopy(float_model)
    modules = dict(model.named_modules())
    for layer, w in decompress(path).items():
        module = modules[layer]
        module.weight.data.copy_(w.t() if isinstance(module, Conv1D) else w)
    state = model.state_dict()
    for name, t in load_file(str(path / "model.safetensors")).items():
        if name.rsplit(".", 1)[-1] in ("weight_packed", "weight_scale", "weight_zero_point", "weight_shape"):
            continue
        target = name if name in state else "transformer." + name  # GPT-2 saved without its prefix
        if target in state and state[target].shape == t.shape:
            state[target].copy_(t.to(state[target].dtype))
    return model
