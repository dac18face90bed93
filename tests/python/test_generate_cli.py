"""`wquant generate` end to end on the real SmolLM2-135M-Instruct GGUF: the
streamed text equals what transformers generates greedily from the same chat
prompt, and bad requests fail cleanly."""
import re

import torch

from conftest import run

QUESTION = "What is the capital of France?"
N = 24


def test_greedy_chat_matches_transformers(wquant_bin, smollm2_gguf):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    proc = run([wquant_bin, "generate", smollm2_gguf, "-p", QUESTION, "-n", N], timeout=600)
    ours = proc.stdout.rstrip("\n")
    tok = AutoTokenizer.from_pretrained(smollm2_gguf.parent, gguf_file=smollm2_gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        smollm2_gguf.parent, gguf_file=smollm2_gguf.name, dtype=torch.float32).eval()
    # The ChatML prompt wquant builds, spelled out (SmolLM2's template without
    # a system message adds none when none is given to wquant).
    prompt = f"<|im_start|>user\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n"
    ids = tok(prompt, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=N, do_sample=False)[0, ids.shape[1]:]
    ref = tok.decode(out, skip_special_tokens=True)
    print(f"wquant: {ours!r}\nreference: {ref!r}\n{proc.stderr}")
    assert ours == ref
    # The speed and memory report: "prompt N tokens, X tokens/s; generated ..."
    assert re.search(r"prompt \d+ tokens, [\d.]+ tokens/s; generated \d+ tokens, [\d.]+ tokens/s",
                     proc.stderr)
    assert "peak RSS" in proc.stderr


def test_empty_prompt_is_an_error(wquant_bin, smollm2_gguf):
    proc = run([wquant_bin, "generate", smollm2_gguf, "-p", "", "-n", "4"], check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "wquant: error: generate: the prompt is empty (-p TEXT)"


def test_prompt_longer_than_context_is_an_error(wquant_bin, smollm2_gguf):
    proc = run([wquant_bin, "generate", smollm2_gguf, "-p", "one two three four five six",
                "-n", "4", "--context", "8"], check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "exceed the context of 8 tokens" in lines[0], proc.stderr


def test_thread_count_does_not_change_the_text(wquant_bin, smollm2_gguf):
    # The kernels split output rows (and attention heads) over threads without
    # changing any sum's order, so 1, 2 and 3 threads give the same tokens.
    texts = {}
    for threads in (1, 2, 3):
        proc = run([wquant_bin, "generate", smollm2_gguf, "-p", QUESTION, "-n", 16,
                    "--threads", threads], timeout=600)
        texts[threads] = proc.stdout
    assert texts[1] == texts[2] == texts[3]


def test_bad_thread_counts_are_errors(wquant_bin, smollm2_gguf):
    import os
    proc = run([wquant_bin, "generate", smollm2_gguf, "-p", QUESTION, "--threads", "0"],
               check=False)
    assert proc.returncode != 0 and "--threads" in proc.stderr
    proc = run([wquant_bin, "generate", smollm2_gguf, "-p", QUESTION], check=False,
               env=dict(os.environ, WQUANT_THREADS="two"))
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("wquant: error: WQUANT_THREADS='two' is not an integer "
                                   "from 1 to 1024")
