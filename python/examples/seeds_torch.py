"""The seeds' notebook, on wquant's kernels: a transformers model, its linear
layers replaced by 8-bit ones except lm_head, the memory footprint before
and after, a text-generation pipeline, and a compressed-tensors save.

    python seeds_torch.py [OUT_DIR]   (needs torch and transformers)
"""
import os, sys, tempfile
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline
import wquant.torch

path = os.path.expanduser("~/.cache/wquant/models/smollm2")
gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
model = AutoModelForCausalLM.from_pretrained(path, gguf_file=gguf, dtype=torch.bfloat16)
tokenizer = AutoTokenizer.from_pretrained(path, gguf_file=gguf)
before = model.get_memory_footprint()

wquant.torch.quantize_linear_layers(model, bits=8, exclude=["lm_head"])
torch.set_num_threads(1)  # the linear layers run on wquant's threads: leave it the cores
print(f"footprint: {before / 1e6:.1f} MB -> {model.get_memory_footprint() / 1e6:.1f} MB")

pipe = pipeline("text-generation", model=model, tokenizer=tokenizer)
print(pipe("The capital of France is", max_new_tokens=20, do_sample=False)[0]["generated_text"])
wquant.torch.save_compressed(model, sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp() + "/smollm2-w8")
