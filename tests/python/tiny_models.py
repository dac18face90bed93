"""Tiny randomly initialised Hugging Face checkpoints, one per architecture
wquant has a rule for, built with transformers itself so that the module tree
(which modules are torch.nn.Linear or Conv1D) is the independent reference
for what wquant should quantize.

Each model has 2 layers, hidden size 64 and a 128-token vocabulary; weights are
transformers' own initialisation under a fixed seed, so every run writes the
same bytes. Building all of them takes about a second.
"""
import dataclasses
import pathlib

import torch

SEED = 0
VOCAB = 128

_DECODER = dict(num_hidden_layers=2, hidden_size=64, intermediate_size=128,
                num_attention_heads=4, num_key_value_heads=2, vocab_size=VOCAB,
                max_position_embeddings=64)
_GPT = dict(n_layer=2, n_embd=64, n_head=4, vocab_size=VOCAB, n_positions=64,
            bos_token_id=0, eos_token_id=0)
_OPT = dict(num_hidden_layers=2, hidden_size=64, ffn_dim=128, num_attention_heads=4,
            vocab_size=VOCAB, max_position_embeddings=64)


@dataclasses.dataclass(frozen=True)
class Spec:
    model_type: str  # config.json "model_type"
    auto_class: str  # transformers Auto class that builds and loads it
    config: dict


# name -> Spec. Tied lm_head (no lm_head tensor in the file): gpt2, opt, opt-350m,
# qwen2 (tie_word_embeddings set on purpose), the gemmas. Untied: codegen (with
# bias), llama, mistral, qwen3, phi3. bert is the bare encoder with pooler, as sentence embedders ship it.
SPECS = {
    "gpt2": Spec("gpt2", "AutoModelForCausalLM", _GPT),
    "opt": Spec("opt", "AutoModelForCausalLM", dict(_OPT, word_embed_proj_dim=64)),
    # OPT-350m's shape: embeddings narrower than the decoder, so
    # decoder.project_in [64, 32] and project_out [32, 64] exist; post-LN layers.
    "opt-350m": Spec("opt", "AutoModelForCausalLM",
                     dict(_OPT, word_embed_proj_dim=32, do_layer_norm_before=False)),
    # 8 heads: two per qkv chunk, so the chunked q|v|k split order is exercised;
    # rotary on 4 of each head's 8 values (partial, as codegen-350M: 32 of 64).
    "codegen": Spec("codegen", "AutoModelForCausalLM",
                    dict(_GPT, n_head=8, rotary_dim=4, n_ctx=64)),
    "llama": Spec("llama", "AutoModelForCausalLM", _DECODER),
    "mistral": Spec("mistral", "AutoModelForCausalLM", _DECODER),
    "qwen2": Spec("qwen2", "AutoModelForCausalLM", dict(_DECODER, tie_word_embeddings=True)),
    "bert": Spec("bert", "AutoModel", dict(_DECODER, num_key_value_heads=None)),
    # head_dim 32, not hidden / heads = 16: qwen3 and gemma take it from the config.
    "qwen3": Spec("qwen3", "AutoModelForCausalLM", dict(_DECODER, head_dim=32)),
    "gemma": Spec("gemma", "AutoModelForCausalLM", dict(_DECODER, head_dim=32)),
    # Soft-caps small enough to act on these tiny logits (random init: attention
    # scores ~0.03, logits ~0.2), a 4-key window on layer 0, a query scalar that
    # is not head_dim.
    "gemma2": Spec("gemma2", "AutoModelForCausalLM",
                   dict(_DECODER, head_dim=32, query_pre_attn_scalar=24, sliding_window=4,
                        attn_logit_softcapping=0.02, final_logit_softcapping=0.1)),
    # One sliding layer (rotary base 10^4, 4-key window) and one full (10^6).
    "gemma3_text": Spec("gemma3_text", "AutoModelForCausalLM",
                        dict(_DECODER, head_dim=32, query_pre_attn_scalar=24, sliding_window=4,
                             layer_types=["sliding_attention", "full_attention"])),
    # Rotary on half of each head, every layer within a 6-key window.
    "phi3": Spec("phi3", "AutoModelForCausalLM",
                 dict(_DECODER, partial_rotary_factor=0.5, sliding_window=6, bos_token_id=1,
                      eos_token_id=2, pad_token_id=0)),
}


def auto_class(name: str):
    """Returns the transformers Auto class that loads checkpoint `name`."""
    import transformers
    return getattr(transformers, SPECS[name].auto_class)


def build(name: str, directory: pathlib.Path, **overrides) -> torch.nn.Module:
    """Returns the float32 model `name` in eval mode, saved to `directory`
    (config.json + model.safetensors). `overrides` replace config keys of the
    spec (None removes one)."""
    from transformers import AutoConfig
    spec = SPECS[name]
    config = {k: v for k, v in {**spec.config, **overrides}.items() if v is not None}
    torch.manual_seed(SEED)
    model = auto_class(name).from_config(AutoConfig.for_model(spec.model_type, **config),
                                         dtype=torch.float32)
    model.save_pretrained(directory)
    return model.eval()


def linear_modules(model: torch.nn.Module) -> dict[str, torch.nn.Module]:
    """Returns {module name: module} of the model's linear layers: torch.nn.Linear
    and transformers' Conv1D (GPT-2's linear layer, weight stored [in, out])."""
    from transformers.pytorch_utils import Conv1D
    return {n: m for n, m in model.named_modules() if isinstance(m, (torch.nn.Linear, Conv1D))}


def weight_out_in(module: torch.nn.Module) -> torch.Tensor:
    """Returns the module's weight as [out_features, in_features] (Conv1D transposed)."""
    from transformers.pytorch_utils import Conv1D
    w = module.weight.detach()
    return w.t().contiguous() if isinstance(module, Conv1D) else w


def tensor_names(directory: pathlib.Path) -> set[str]:
    """Returns the names of the tensors in directory/model.safetensors."""
    from safetensors import safe_open
    with safe_open(str(directory / "model.safetensors"), "pt") as f:
        return set(f.keys())
