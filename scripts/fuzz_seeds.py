#!/usr/bin/env python3
"""Writes the seed corpus of each libFuzzer target (fuzz/fuzz_*.cpp) under OUT/<target>/.

    python scripts/fuzz_seeds.py OUT WQUANT_BINARY

Small valid inputs made here, nothing committed: safetensors files of every
float and integer dtype, GGUF files with llama metadata, a vocabulary and a
tensor of every ggml type wquant reads (random blocks, finite f16 scales),
tokenizer.json files (WordPiece, byte-level BPE trained here by `tokenizers`
on a few sentences, SentencePiece-style byte-fallback BPE and Unigram), GGUF
SentencePiece vocabularies, config.json files of each architecture family, and
compressed-tensors checkpoints that `wquant quantize` writes from a tiny
float llama made here (W8 channel, W4 g32 asym, W2 g16).
"""
import json
import pathlib
import struct
import subprocess
import sys
import tempfile

import numpy as np

TEXT = ["In the beginning God created the heaven and the earth.",
        "And the earth was without form, and void; and darkness was upon the face of the deep.",
        "And God said, Let there be light: and there was light. 1234 ²³ héllo"]
F16_FIELDS = {"Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0], "IQ4_NL": [0],
              "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208], "IQ4_XS": [0]}


def safetensors_seeds(out: pathlib.Path, rng):
    from safetensors.numpy import save_file
    save_file({"w": rng.standard_normal((4, 8)).astype(np.float32)}, str(out / "f32.safetensors"))
    save_file({"a": rng.standard_normal((2, 3)).astype(np.float16),
               "b": np.arange(6, dtype=np.int64).reshape(2, 3),
               "c": np.arange(4, dtype=np.int32), "d": np.zeros((0,), np.float32)},
              str(out / "mixed.safetensors"), metadata={"format": "pt"})
    # bf16: safetensors.numpy has no bf16; write the header by hand.
    header = json.dumps({"x": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]}}).encode()
    (out / "bf16.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(range(8)))


def sentencepiece_gguf(path, architecture):
    """A GGUF holding only a SentencePiece vocabulary (tokenizer.ggml.model "llama")."""
    import gguf
    w = gguf.GGUFWriter(str(path), architecture)
    tokens = ["<unk>", "<s>", "</s>", "<mask>"] + [f"<0x{b:02X}>" for b in range(256)] + \
             ["\u2581", "t", "h", "e", "\u2581t", "he", "\u2581the", "  "]
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([-float(i) for i in range(len(tokens))])
    w.add_token_types([2, 3, 3, 4] + [6] * 256 + [1] * (len(tokens) - 260))
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()


def gguf_writer(path, vocab: bool, rng, types=()):
    import gguf
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(64)
    w.add_embedding_length(32)
    w.add_block_count(1)
    w.add_feed_forward_length(64)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_layer_norm_rms_eps(1e-5)
    if vocab:
        tokens = [bytes([b]).decode("latin-1") for b in range(32, 127)] + ["Ġt", "he", "Ġthe", "<|im_end|>"]
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("smollm")
        w.add_token_list(tokens)
        w.add_token_types([1] * (len(tokens) - 1) + [3])
        w.add_token_merges(["Ġ t", "h e", "Ġt he"])
        w.add_bos_token_id(len(tokens) - 1)
        w.add_eos_token_id(len(tokens) - 1)
    w.add_tensor("token_embd.weight", rng.standard_normal((16, 32)).astype(np.float32))
    w.add_tensor("blk.0.attn_q.weight", rng.standard_normal((32, 32)).astype(np.float16))
    for name in types:
        qtype = gguf.GGMLQuantizationType[name]
        values, size = gguf.GGML_QUANT_SIZES[qtype]
        blocks = rng.integers(0, 256, size=(2, size), dtype=np.uint8)
        for off in F16_FIELDS[name]:
            blocks[:, off:off + 2] = np.array([0x3C00, 0x2E66], np.uint16).view(np.uint8).reshape(2, 2)
        w.add_tensor(f"t.{name}", blocks.reshape(1, -1), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def tokenizer_seeds(out: pathlib.Path):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, decoders, trainers
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(TEXT, trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    bpe.save(str(out / "bpe.json"))
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "##s", "in", "god",
                                        "earth", "and", ",", ".", "light"])}
    wp = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    wp.normalizer = normalizers.BertNormalizer(lowercase=True)
    wp.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wp.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                      special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    wp.decoder = decoders.WordPiece()
    wp.save(str(out / "wordpiece.json"))
    # SentencePiece shapes: byte-fallback BPE as Llama-2 / Gemma files have it, and Unigram as T5's.
    pieces = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + \
             ["\u2581", "t", "h", "e", "\u2581t", "he", "\u2581the", "a", "n", "d", "\u2581a", "nd", "\u2581and"]
    spm_vocab = {p: i for i, p in enumerate(pieces)}
    spm_merges = [("\u2581", "t"), ("h", "e"), ("\u2581t", "he"), ("\u2581", "a"), ("n", "d"), ("\u2581a", "nd")]
    spm_decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    llama2 = Tokenizer(models.BPE(spm_vocab, spm_merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    llama2.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    llama2.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    llama2.decoder = spm_decoder
    llama2.add_special_tokens(["<s>", "</s>"])
    llama2.save(str(out / "spm-llama2.json"))
    gemma = Tokenizer(models.BPE(spm_vocab, spm_merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    gemma.normalizer = normalizers.Replace(" ", "\u2581")
    gemma.pre_tokenizer = pre_tokenizers.Split(" ", behavior="merged_with_previous")
    gemma.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
    gemma.save(str(out / "spm-gemma.json"))
    unigram = Tokenizer(models.Unigram([(p, -float(i % 17) - 1.0) for i, p in enumerate(pieces)], 0, True))
    unigram.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(prepend_scheme="first", split=True)])
    unigram.decoder = decoders.Metaspace()
    unigram.save(str(out / "unigram.json"))


CONFIGS = {
    "llama": {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
              "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 16, "rms_norm_eps": 1e-5,
              "max_position_embeddings": 64, "rope_theta": 10000.0, "tie_word_embeddings": True,
              "bos_token_id": 1, "eos_token_id": [2, 3]},
    "qwen3": {"model_type": "qwen3", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 16,
              "rope_parameters": {"rope_theta": 1e6, "rope_type": "default"},
              "layer_types": ["full_attention", "sliding_attention"], "sliding_window": 8},
    "gemma3": {"model_type": "gemma3_text", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
               "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16, "vocab_size": 16,
               "query_pre_attn_scalar": 16, "sliding_window": 4, "hidden_activation": "gelu_pytorch_tanh",
               "rope_parameters": {"sliding_attention": {"rope_type": "default", "rope_theta": 1e4},
                                   "full_attention": {"rope_type": "default", "rope_theta": 1e6}},
               "layer_types": ["sliding_attention", "full_attention"], "final_logit_softcapping": None},
    "phi3": {"model_type": "phi3", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
             "num_attention_heads": 4, "vocab_size": 16, "partial_rotary_factor": 0.5, "sliding_window": 7,
             "rope_parameters": {"rope_theta": 1e4, "partial_rotary_factor": 0.5, "rope_type": "default"}},
    "gpt2": {"model_type": "gpt2", "n_embd": 32, "n_layer": 1, "n_head": 4, "n_positions": 64, "vocab_size": 16,
             "layer_norm_epsilon": 1e-5},
    "opt": {"model_type": "opt", "hidden_size": 32, "ffn_dim": 64, "num_hidden_layers": 1,
            "num_attention_heads": 4, "vocab_size": 16, "max_position_embeddings": 64},
}


def compressed_tensors_seeds(out: pathlib.Path, wquant: str, rng):
    from safetensors.numpy import save_file
    c = CONFIGS["llama"]
    h, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    kv = h // c["num_attention_heads"] * c["num_key_value_heads"]
    t = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,),
         "model.layers.0.input_layernorm.weight": (h,), "model.layers.0.post_attention_layernorm.weight": (h,),
         "model.layers.0.self_attn.q_proj.weight": (h, h), "model.layers.0.self_attn.k_proj.weight": (kv, h),
         "model.layers.0.self_attn.v_proj.weight": (kv, h), "model.layers.0.self_attn.o_proj.weight": (h, h),
         "model.layers.0.mlp.gate_proj.weight": (f, h), "model.layers.0.mlp.up_proj.weight": (f, h),
         "model.layers.0.mlp.down_proj.weight": (h, f)}
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "float"
        src.mkdir()
        save_file({k: rng.standard_normal(s).astype(np.float32) for k, s in t.items()}, str(src / "model.safetensors"))
        (src / "config.json").write_text(json.dumps(c))
        for name, flags in {"w8": ["--bits", "8"], "w4g32a": ["--bits", "4", "--group-size", "32", "--asymmetric"],
                            "w2g16": ["--bits", "2", "--group-size", "16"]}.items():
            q = pathlib.Path(tmp) / name
            subprocess.run([wquant, "quantize", str(src), "-o", str(q), "--no-progress", *flags], check=True,
                           capture_output=True)
            config = (q / "config.json").read_bytes()
            (out / name).write_bytes(struct.pack("<I", len(config)) + config + (q / "model.safetensors").read_bytes())
            # The quantized config, alone, seeds fuzz_config too.
            (out.parent / "fuzz_config" / f"quantized-{name}.json").write_bytes(config)


def main():
    out, wquant = pathlib.Path(sys.argv[1]), sys.argv[2]
    rng = np.random.default_rng(11)
    dirs = {n: out / n for n in ["fuzz_safetensors", "fuzz_gguf", "fuzz_gguf_vocab", "fuzz_tokenizer_json",
                                 "fuzz_config", "fuzz_compressed_tensors"]}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    safetensors_seeds(dirs["fuzz_safetensors"], rng)
    gguf_writer(dirs["fuzz_gguf"] / "llama-types.gguf", False, rng, F16_FIELDS)
    gguf_writer(dirs["fuzz_gguf"] / "llama.gguf", True, rng)
    gguf_writer(dirs["fuzz_gguf_vocab"] / "vocab.gguf", True, rng)
    for architecture in ("llama", "gemma2", "phi3"):
        sentencepiece_gguf(dirs["fuzz_gguf_vocab"] / f"spm-{architecture}.gguf", architecture)
    tokenizer_seeds(dirs["fuzz_tokenizer_json"])
    for name, c in CONFIGS.items():
        (dirs["fuzz_config"] / f"{name}.json").write_text(json.dumps(c))
    # Targets as other writers spell them: "Linear", "re:" regexes, an ignore list.
    regex = dict(CONFIGS["llama"], quantization_config={
        "quant_method": "compressed-tensors", "format": "pack-quantized", "ignore": ["lm_head", "re:.*layers\\.1\\..*"],
        "config_groups": {"group_0": {"targets": ["Linear"], "weights": {"num_bits": 4, "strategy": "group",
                                                                        "group_size": 128, "symmetric": True}},
                          "group_1": {"targets": ["re:.*mlp\\.(up|gate)_proj$"],
                                      "weights": {"num_bits": 8, "strategy": "channel", "symmetric": False}}}})
    (dirs["fuzz_config"] / "quantized-regex.json").write_text(json.dumps(regex))
    compressed_tensors_seeds(dirs["fuzz_compressed_tensors"], wquant, rng)
    for name, d in dirs.items():
        print(name, len(list(d.iterdir())), "seeds")


if __name__ == "__main__":
    main()
