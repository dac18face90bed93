#!/usr/bin/env python3
"""End-to-end speed and memory of SmolLM2-135M and of a synthetic 1.1B llama: wquant against its peers.

One command, one run (issue 4, items 3 and 4; issue 10, items 2 and 3):

    ~/.cache/wquant/venv/bin/python bench/e2e.py [--quick] [--skip-large | --only-large]

It builds wquant (build-e2e/), fetches and builds llama.cpp from the
llama-cpp-python source distribution (scripts/fetch_peers.sh), prepares the
models once under $WQUANT_CACHE/e2e/, then measures, on the same prompt length
and decode count:

  * wquant        f32, bf16 (safetensors exported by transformers from the GGUF),
                  W8 per channel, W4 g32 symmetric, W4 g128 (quantized from the GGUF),
                  W3 g64 and W2 g64 asymmetric (GPTQ-calibrated on another text)
  * llama.cpp     Q8_0, Q4_0, Q3_K_M and Q2_K (llama-quantize from an F32 GGUF that
                  convert_hf_to_gguf.py made from the f32 export), llama-bench,
                  prompts of 128 and 512 tokens
  * PyTorch       f32 and bf16 (transformers, CPU) and optimum-quanto qint8 weights
  * wquant.torch  the same transformers model with its linear layers replaced by
                  wquant.torch.quantize_linear_layers (W8, W4 g32; lm_head float),
                  running wquant's kernels from PyTorch (the installed package)

and the synthetic 1.1B llama (TinyLlama's shape, random weights: larger than
the cache) at W8/W4/W3/W2 against Q8_0/Q4_0/Q3_K_M/Q2_K, with effective GB/s
against the read bandwidth measured in the same run;
and prints, and writes to docs/PERFORMANCE_E2E.md, a table of prompt and
decode tokens/s, peak RSS, weight bytes, the ratios the issue sets goals
for, the RSS bound check, and decode tokens/s against context length.

Definitions, the same for every system:
  prompt tok/s  prompt tokens / time of the batched forward pass over them
  decode tok/s  single-token forward passes / their time (llama-bench "tg";
                for wquant, generated N+1 tokens = N forward passes, the
                time also holds sampling and detokenizing, which is small)
  peak RSS      the process's high-water mark (VmHWM / ru_maxrss / wquant's
                own report), model load included
  weight bytes  bytes of the stored tensors the run reads (safetensors data,
                GGUF tensor data, torch parameters)

Everything is a subprocess; this script imports nothing heavy itself, so its
own workers (--worker ...) run in the same venv.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("WQUANT_CACHE", Path.home() / ".cache" / "wquant"))
E2E = CACHE / "e2e"
GGUF_DIR = CACHE / "models" / "smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF = GGUF_DIR / GGUF_NAME
TEXT = CACHE / "text" / "genesis.txt"
BUILD = REPO / "build-e2e"
WQUANT = BUILD / "wquant"
OUT_MD = REPO / "docs" / "PERFORMANCE_E2E.md"

# wquant checkpoints: name -> `wquant quantize` arguments (None: an HF export).
# The float tensors of the quantized ones (embeddings, tied lm_head, norms)
# are bf16, as in the bf16 model, so W8/W4 differ from bf16 only in the
# linear layers.
WQUANT_MODELS = {
    "f32": None,
    "bf16": None,
    "W8": ["--bits", "8", "--per-channel", "--dtype", "bf16"],
    "W4-g32": ["--bits", "4", "--group-size", "32", "--dtype", "bf16"],
    "W4-g128": ["--bits", "4", "--group-size", "128", "--dtype", "bf16"],
    # The tied embedding / lm_head quantized too (W8 per channel), as
    # llama.cpp's Q8_0 stores token_embd: the same bytes per token as Q8_0.
    "W8-emb": ["--bits", "8", "--per-channel", "--dtype", "bf16", "--include", "model.embed_tokens"],
    # W4 g32 symmetric (4.5 bits per weight with bf16 scales, as Q4_0 with
    # its f16 scales) and the tied embedding at W8 per channel, as
    # llama-quantize's Q4_0 stores token_embd in Q8_0.
    "W4-g32-emb8": ["--bits", "4", "--group-size", "32", "--dtype", "bf16",
                    "--include", "model.embed_tokens", "--override", "model.embed_tokens=w8-channel"],
    # 3 and 2 bits, GPTQ-calibrated (CALIBRATION_ARGS), the embedding at W8 as
    # above: against llama.cpp's Q3_K_M and Q2_K. 3-bit weights are widened to
    # the 4-bit layout in memory at load (no native 3-bit kernel), so W3 reads
    # as many bytes per token as W4 g64 asym.
    "W3-g64-emb8": ["--bits", "3", "--group-size", "64", "--asymmetric", "--dtype", "bf16",
                    "--include", "model.embed_tokens", "--override", "model.embed_tokens=w8-channel"],
    "W2-g64-emb8": ["--bits", "2", "--group-size", "64", "--asymmetric", "--dtype", "bf16",
                    "--include", "model.embed_tokens", "--override", "model.embed_tokens=w8-channel"],
}
# Calibration of the 3- and 2-bit checkpoints (speed does not depend on it;
# their quality is in docs/QUALITY_CALIBRATED.md): GPTQ on 8 windows of 512
# tokens of the gospels, not the text the prompts come from.
CALIBRATION_TEXT = CACHE / "text" / "gospels.txt"
CALIBRATED = {"W3-g64-emb8", "W2-g64-emb8"}


def calibration_args() -> list:
    return ["--method", "gptq", "--calibration", CALIBRATION_TEXT, "--calibration-tokens", "4096",
            "--calibration-context", "512"]


LLAMA_TYPES = ["Q8_0", "Q4_0", "Q3_K_M", "Q2_K"]
# Prompt lengths of the prompt-speed comparison (the first is also the
# prompt before the decode steps of the main table).
PROMPT_LENGTHS = [128, 512]
# A decode loop stops after this many seconds (optimum-quanto's CPU path can
# run at under 1 token/s); its rate is then over the steps it did.
TORCH_DECODE_BUDGET_S = 15
TORCH_VARIANTS = ["f32", "bf16", "quanto-qint8-bf16", "quanto-qint8-f32", "wquant.torch-w8-bf16",
                  "wquant.torch-w8-f32", "wquant.torch-w4-g32-bf16"]


def log(*args):
    print("[e2e]", *args, file=sys.stderr, flush=True)


def run(cmd, *, env=None, capture=True, check=True, timeout=None):
    """Runs cmd (a list); returns CompletedProcess with text stdout/stderr."""
    shown = [str(c) if len(str(c)) <= 80 else f"<{len(str(c))} chars>" for c in cmd]
    log("$", " ".join(shlex.quote(c) for c in shown))
    p = subprocess.run([str(c) for c in cmd], env=env, text=True, timeout=timeout,
                       stdout=subprocess.PIPE if capture else sys.stderr,
                       stderr=subprocess.PIPE if capture else None)
    if check and p.returncode != 0:
        tail = (p.stderr or "")[-2000:] if capture else ""
        raise RuntimeError(f"{cmd[0]} exited {p.returncode}: {tail}")
    return p


# ---------------------------------------------------------------- build / fetch

def build_wquant():
    if not (BUILD / "CMakeCache.txt").exists():
        run(["cmake", "-S", REPO, "-B", BUILD, "-DCMAKE_BUILD_TYPE=Release"], capture=False)
    run(["cmake", "--build", BUILD, "-j", str(os.cpu_count() or 2), "--target", "wquant"],
        capture=False)


def fetch_peers() -> Path:
    p = run(["bash", REPO / "scripts" / "fetch_peers.sh"])
    return Path(p.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- model preparation

def checkpoint_bytes(directory: Path, skip_prefix: str | None = None) -> int:
    """Returns the bytes of tensor data in a checkpoint's safetensors files,
    leaving out the tensors whose name starts with skip_prefix."""
    total = 0
    for path in directory.glob("*.safetensors"):
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
        total += sum(v["data_offsets"][1] - v["data_offsets"][0] for k, v in header.items()
                     if k != "__metadata__" and not (skip_prefix and k.startswith(skip_prefix)))
    return total


def gguf_tensor_bytes(path: Path, skip: str | None = None) -> int:
    """Returns the bytes of tensor data in a GGUF file, leaving out tensor `skip`."""
    from gguf import GGUFReader  # the venv's gguf package
    return sum(int(t.n_bytes) for t in GGUFReader(str(path)).tensors if t.name != skip)


def prepare_models(llama: Path, notes: list[str]) -> dict:
    """Creates (once) every model the runs need; returns their paths."""
    E2E.mkdir(parents=True, exist_ok=True)
    paths = {}
    for dtype in ("f32", "bf16"):
        d = E2E / f"hf-{dtype}"
        if not (d / "config.json").exists():
            tmp = E2E / f"hf-{dtype}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            run([sys.executable, __file__, "--worker", "export-hf", dtype, tmp])
            tmp.rename(d)
        paths[f"hf-{dtype}"] = d
    paths["wquant:f32"] = paths["hf-f32"]
    paths["wquant:bf16"] = paths["hf-bf16"]
    for name, args in WQUANT_MODELS.items():
        if args is None:
            continue
        d = E2E / f"wquant-{name}"
        if not (d / "config.json").exists():
            extra = calibration_args() if name in CALIBRATED else []
            run([WQUANT, "quantize", GGUF, "-o", d, "--force", "--no-progress", *args, *extra])
        paths[f"wquant:{name}"] = d

    # llama.cpp: F32 GGUF converted from the f32 export, then llama-quantize.
    f32_gguf = E2E / "smollm2-135m-f32.gguf"
    source, requant = f32_gguf, False
    if not f32_gguf.exists():
        tmp = E2E / "smollm2-135m-f32.gguf.tmp"
        env = dict(os.environ, PYTHONPATH=str(llama / "gguf-py"))
        p = run([sys.executable, llama / "convert_hf_to_gguf.py", paths["hf-f32"], "--outtype", "f32",
                 "--outfile", tmp], env=env, check=False)
        if p.returncode == 0:
            tmp.rename(f32_gguf)
        else:
            tmp.unlink(missing_ok=True)
            source, requant = GGUF, True
            notes.append("convert_hf_to_gguf.py failed (" + (p.stderr or "").strip().splitlines()[-1][:200]
                         + "); the llama.cpp models are requantized from the Q4_1 GGUF (--allow-requantize)")
    for qtype in LLAMA_TYPES:
        out = E2E / f"smollm2-135m-{qtype.lower()}{'-requant' if requant else ''}.gguf"
        if not out.exists():
            tmp = out.with_suffix(".tmp")
            run([llama / "build" / "bin" / "llama-quantize", *(["--allow-requantize"] if requant else []),
                 source, tmp, qtype])
            tmp.rename(out)
        paths[f"llama:{qtype}"] = out
    return paths


def export_hf_worker(dtype: str, out: str):
    """Worker: loads the GGUF with transformers, dequantized, and saves a float
    safetensors checkpoint (written by hand: transformers refuses to save a
    model loaded through its GGUF quantizer)."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig
    torch_dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[dtype]
    model = AutoModelForCausalLM.from_pretrained(GGUF_DIR, gguf_file=GGUF_NAME, dtype=torch_dtype,
                                                 quantization_config=GgufConfig(dequantize=True))
    tensors = {}
    for name, t in model.state_dict().items():
        if not t.is_floating_point():
            raise SystemExit(f"export-hf: {name} is {t.dtype}, not dequantized")
        tensors[name] = t.detach().to(torch_dtype).contiguous()
    if model.config.tie_word_embeddings:
        tensors.pop("lm_head.weight", None)
    Path(out).mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(Path(out) / "model.safetensors"), metadata={"format": "pt"})
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = torch_dtype
    config.architectures = [type(model).__name__]  # convert_hf_to_gguf.py keys on it
    config.save_pretrained(out)
    AutoTokenizer.from_pretrained(GGUF_DIR, gguf_file=GGUF_NAME).save_pretrained(out)


# ---------------------------------------------------------------- prompts

def prompt_text(tokenizer_dir: Path, n_tokens: int) -> str:
    """Returns a slice of genesis.txt that the model's tokenizer encodes to n_tokens."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    text = TEXT.read_text()
    ids = tok.encode(text, add_special_tokens=False).ids
    for n in range(n_tokens, n_tokens - 8, -1):
        candidate = tok.decode(ids[:n])
        if len(tok.encode(candidate, add_special_tokens=False).ids) == n_tokens:
            return candidate
    return tok.decode(ids[:n_tokens])


# ---------------------------------------------------------------- wquant

def wquant_threads_option() -> str | None:
    """Returns wquant generate's thread option if it has one (it may gain one)."""
    h = run([WQUANT, "generate", "--help"], check=False).stdout
    m = re.search(r"(-t,)?\s*(--threads)\b", h)
    return m.group(2) if m else None


GEN_RE = re.compile(r"prompt (\d+) tokens, ([\d.]+) tokens/s; generated (\d+) tokens, ([\d.]+) tokens/s"
                    r"(.*?); peak RSS ([\d.]+) MB")


def run_wquant(model: Path, prompt: str, n_prompt: int, n_decode: int, threads: int | None,
               thread_opt: str | None, reps: int, tokenizer: Path = GGUF) -> dict:
    """Runs wquant generate reps times; returns medians (decode = forward passes/s)."""
    cmd = [WQUANT, "generate", model, "--tokenizer", tokenizer, "-p", prompt, "-n", str(n_decode + 1),
           "--raw", "--context", str(n_prompt + n_decode + 16)]
    if thread_opt and threads:
        cmd += [thread_opt, str(threads)]
    pp, tg, rss, notes = [], [], [], set()
    for _ in range(reps):
        p = run(cmd)
        m = GEN_RE.search(p.stderr)
        if not m:
            raise RuntimeError(f"wquant generate: no timing line in: {p.stderr[-500:]}")
        pn, ps, gn, gs, eos, mb = m.groups()
        pn, gn = int(pn), int(gn)
        if pn != n_prompt:
            notes.add(f"prompt encoded to {pn} tokens")
        if eos.strip():
            notes.add(f"stopped at end of sequence after {gn} tokens")
        pp.append(float(ps))
        # gn tokens generated with gn - 1 forward passes in generate_seconds = gn / gs.
        tg.append((gn - 1) / (gn / float(gs)) if gn > 1 else float("nan"))
        rss.append(float(mb))
    return {"prompt_tps": statistics.median(pp), "decode_tps": statistics.median(tg),
            "rss_mb": max(rss), "n_prompt": n_prompt, "notes": sorted(notes)}


# ---------------------------------------------------------------- llama.cpp

def time_v(cmd) -> tuple[subprocess.CompletedProcess, float]:
    """Runs cmd under /usr/bin/time -v; returns it and its peak RSS in MB."""
    p = run(["/usr/bin/time", "-v", *cmd])
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    return p, (int(m.group(1)) * 1024 / 1e6 if m else float("nan"))


def run_llama_bench(llama: Path, model: Path, args: list[str], reps: int) -> tuple[list[dict], float]:
    bench = llama / "build" / "bin" / "llama-bench"
    p, rss = time_v([bench, "-m", model, "-r", str(reps), "-o", "json", *args])
    return json.loads(p.stdout), rss


def llama_bench_rows(llama: Path, model: Path, qtype: str, prompts: list[int], n_decode: int,
                     reps: int) -> list[dict]:
    """Runs llama-bench on 1 and 2 threads; returns a row per thread count
    (prompt_tps_at: tok/s by prompt length; prompt_tps: at the first length),
    or one row with the error."""
    try:
        res, rss = run_llama_bench(llama, model, ["-p", ",".join(str(n) for n in prompts),
                                                  "-n", str(n_decode), "-t", "1,2"], reps)
    except Exception as e:
        return [{"system": "llama.cpp", "format": qtype, "threads": 2, "error": str(e)[:200]}]
    rows = []
    for t in (1, 2):
        pp = {x["n_prompt"]: x["avg_ts"] for x in res if x["n_threads"] == t and x["n_prompt"] > 0}
        tg = next((x for x in res if x["n_threads"] == t and x["n_gen"] > 0), None)
        rows.append({"system": "llama.cpp", "format": qtype, "threads": t, "prompt_tps": pp.get(prompts[0]),
                     "prompt_tps_at": pp, "decode_tps": tg and tg["avg_ts"], "rss_mb": rss,
                     "build": res[0].get("build_commit")})
    return rows


def llama_has_depth(llama: Path) -> bool:
    h = run([llama / "build" / "bin" / "llama-bench", "--help"], check=False)
    return "-d, --n-depth" in (h.stdout + h.stderr)


# ---------------------------------------------------------------- PyTorch

def torch_worker(variant: str, model_dir: str, prompt_ids_json: str, n_decode: int,
                 threads_csv: str, reps: int):
    """Worker: prefill and greedy decode with transformers; prints one JSON line."""
    import torch
    from transformers import AutoModelForCausalLM
    result = {"variant": variant, "runs": []}
    try:
        dtype = torch.float32 if variant.endswith("f32") else torch.bfloat16
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).eval()
        weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
        if variant.startswith("wquant.torch"):
            import wquant
            import wquant.torch
            scheme = variant.split("-")[1:-1]  # ["w8"] or ["w4", "g32"]
            group = int(scheme[1][1:]) if len(scheme) > 1 else None
            result["wquant_version"] = wquant.__version__
            wquant.torch.quantize_linear_layers(model, bits=int(scheme[0][1:]), group_size=group,
                                                exclude=["lm_head"])
            seen, weight_bytes = set(), 0
            for t in list(model.parameters()) + list(model.buffers()):
                if t.data_ptr() not in seen:
                    seen.add(t.data_ptr())
                    weight_bytes += t.numel() * t.element_size()
        if variant.startswith("quanto"):
            from optimum.quanto import freeze, qint8, quantize
            from optimum.quanto import __version__ as quanto_version
            result["quanto_version"] = quanto_version
            quantize(model, weights=qint8, exclude="lm_head")
            freeze(model)
            weight_bytes = 0
            seen = set()
            for _, t in list(model.named_parameters()) + list(model.named_buffers()):
                if id(t) in seen:
                    continue
                seen.add(id(t))
                parts = [getattr(t, "_data", None), getattr(t, "_scale", None)]
                if parts[0] is not None:
                    weight_bytes += sum(x.numel() * x.element_size() for x in parts if x is not None)
                else:
                    weight_bytes += t.numel() * t.element_size()
        result["weight_bytes"] = weight_bytes
        ids = torch.tensor([json.loads(prompt_ids_json)], dtype=torch.long)
        with torch.inference_mode():
            for threads in [int(t) for t in threads_csv.split(",")]:
                torch.set_num_threads(threads)
                if variant.startswith("wquant.torch"):
                    # The linear layers on wquant's pool, the rest on one torch thread:
                    # torch's OpenMP threads and wquant's both spinning on 2 cores halve
                    # decode speed (measured: torch 2 + wquant 2 threads 17.4 tok/s,
                    # torch 1 + wquant 2 31.8, torch 2 + wquant 1 23.1).
                    torch.set_num_threads(1)
                    wquant.set_num_threads(threads)
                model(ids[:, :8], use_cache=True)  # warm-up
                pp, tg = [], []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    out = model(ids, use_cache=True, logits_to_keep=1)
                    pp.append(ids.shape[1] / (time.perf_counter() - t0))
                    past = out.past_key_values
                    token = out.logits[:, -1].argmax(-1, keepdim=True)
                    t0 = time.perf_counter()
                    steps = 0
                    while steps < n_decode and (steps < 4 or time.perf_counter() - t0 < TORCH_DECODE_BUDGET_S):
                        out = model(token, past_key_values=past, use_cache=True)
                        past = out.past_key_values
                        token = out.logits[:, -1].argmax(-1, keepdim=True)
                        steps += 1
                    tg.append(steps / (time.perf_counter() - t0))
                    if steps < n_decode:
                        result.setdefault("notes", []).append(
                            f"{threads} threads: decode stopped after {steps} steps ({TORCH_DECODE_BUDGET_S} s budget)")
                        break
                result["runs"].append({"threads": threads, "prompt_tps": statistics.median(pp),
                                       "decode_tps": statistics.median(tg)})
    except Exception as e:  # reported in the table as n/a with the reason
        result["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
    with open("/proc/self/status") as f:
        hwm = re.search(r"VmHWM:\s+(\d+) kB", f.read())
    result["rss_mb"] = int(hwm.group(1)) * 1024 / 1e6
    print(json.dumps(result))


# ---------------------------------------------------------------- a model larger than the cache

# A llama-architecture model of about 1.1B parameters (TinyLlama's shape) with
# random weights made by transformers, SmolLM2's tokenizer (so its vocabulary:
# 49152), an untied lm_head: 2.3 GB in bf16, 70x SmolLM2's linear layers and
# far beyond the 32 MiB L3, so decode streams every weight from DRAM.
LARGE = E2E / "llama-1.1b"
LARGE_SHAPE = dict(hidden_size=2048, num_hidden_layers=22, intermediate_size=5632,
                   num_attention_heads=32, num_key_value_heads=4)
# lm_head quantized too (W8 per channel below 8 bits), as llama-quantize
# quantizes output.weight; RTN: the weights are random, calibration has
# nothing to find in them.
_LM_HEAD_W8 = ["--include", "lm_head", "--override", "lm_head=w8-channel"]
LARGE_WQUANT = {
    "W8": ["--bits", "8", "--per-channel", "--include", "lm_head"],
    "W4-g32": ["--bits", "4", "--group-size", "32", *_LM_HEAD_W8],
    "W3-g64": ["--bits", "3", "--group-size", "64", "--asymmetric", *_LM_HEAD_W8],
    "W2-g64": ["--bits", "2", "--group-size", "64", "--asymmetric", *_LM_HEAD_W8],
}
LARGE_LLAMA = ["Q8_0", "Q4_0", "Q3_K_M", "Q2_K"]
LARGE_PAIRS = [("W8", "Q8_0", "1.15"), ("W4-g32", "Q4_0", "1.15"), ("W3-g64", "Q3_K_M", "1.3"),
               ("W2-g64", "Q2_K", "1.3")]


def make_large_worker(out: str, tokenizer_dir: str):
    """Worker: a random-weight llama of LARGE_SHAPE in bf16, sharded safetensors
    (1 GB shards) and SmolLM2's tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    src = json.loads((Path(tokenizer_dir) / "config.json").read_text())
    config = LlamaConfig(vocab_size=src["vocab_size"], bos_token_id=src.get("bos_token_id"),
                         eos_token_id=src.get("eos_token_id"), max_position_embeddings=2048,
                         rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
                         **LARGE_SHAPE)
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    model = LlamaForCausalLM(config).eval()
    log(f"make-large: {sum(p.numel() for p in model.parameters()) / 1e9:.3f}B parameters")
    model.save_pretrained(out, max_shard_size="1GB")
    AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(out)


def prepare_large(llama: Path, hf_tokenizer_dir: Path) -> dict:
    """Creates (once) the large model, its wquant checkpoints and its GGUFs."""
    LARGE.mkdir(parents=True, exist_ok=True)
    hf = LARGE / "hf-bf16"
    if not (hf / "config.json").exists():
        tmp = LARGE / "hf-bf16.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        run([sys.executable, __file__, "--worker", "make-large", tmp, hf_tokenizer_dir])
        tmp.rename(hf)
    paths = {"hf": hf}
    for name, args in LARGE_WQUANT.items():
        d = LARGE / f"wquant-{name}"
        if not (d / "config.json").exists():
            run([WQUANT, "quantize", hf, "-o", d, "--force", "--no-progress", *args])
        paths[f"wquant:{name}"] = d
    bf16_gguf = LARGE / "llama-1.1b-bf16.gguf"
    if not bf16_gguf.exists():
        tmp = bf16_gguf.with_suffix(".tmp")
        env = dict(os.environ, PYTHONPATH=str(llama / "gguf-py"))
        run([sys.executable, llama / "convert_hf_to_gguf.py", hf, "--outtype", "bf16", "--outfile", tmp],
            env=env)
        tmp.rename(bf16_gguf)
    for qtype in LARGE_LLAMA:
        out = LARGE / f"llama-1.1b-{qtype.lower()}.gguf"
        if not out.exists():
            tmp = out.with_suffix(".tmp")
            run([llama / "build" / "bin" / "llama-quantize", bf16_gguf, tmp, qtype])
            tmp.rename(out)
        paths[f"llama:{qtype}"] = out
    return paths


def read_bandwidth() -> dict:
    """The machine's read bandwidth, GB/s by threads (linear_bench's STREAM-style
    BM_ReadBandwidth, 512 MiB, in this run)."""
    run(["cmake", "--build", BUILD, "-j", str(os.cpu_count() or 2), "--target", "linear_bench"],
        capture=False)
    p = run([BUILD / "bench" / "linear_bench", "--benchmark_filter=BM_ReadBandwidth",
             "--benchmark_format=json"])
    out = {}
    for b in json.loads(p.stdout)["benchmarks"]:
        m = re.search(r"threads:(\d+)", b["name"])
        if m and "GB/s" in b:
            out[int(m.group(1))] = max(out.get(int(m.group(1)), 0.0), b["GB/s"])
    return out


def measure_large(llama: Path, paths: dict, thread_opt: str | None, reps: int, n_prompt: int,
                  n_decode: int) -> list[dict]:
    prompt = prompt_text(paths["hf"], n_prompt)
    rows = []
    for name in LARGE_WQUANT:
        d = paths[f"wquant:{name}"]
        for t in (1, 2):
            try:
                r = run_wquant(d, prompt, n_prompt, n_decode, t, thread_opt, reps,
                               tokenizer=paths["hf"] / "tokenizer.json")
            except Exception as e:
                r = {"error": str(e)[:200]}
            rows.append({"system": "wquant", "format": name, "threads": t,
                         # a decode step reads one row of the token embeddings
                         "bytes_per_token": checkpoint_bytes(d, skip_prefix="model.embed_tokens."), **r})
    for qtype in LARGE_LLAMA:
        m = paths[f"llama:{qtype}"]
        for r in llama_bench_rows(llama, m, qtype, [n_prompt], n_decode, reps):
            rows.append({**r, "bytes_per_token": gguf_tensor_bytes(m, skip="token_embd.weight")})
    return rows


def render_large(rows: list[dict], bandwidth: dict, n_prompt: int, n_decode: int, paths: dict) -> list[str]:
    lines = ["", "## A model larger than the cache: a synthetic 1.1B llama", "",
             "TinyLlama's shape (hidden 2048, 22 layers, intermediate 5632, 32 heads, 4 KV heads), random",
             "weights (transformers, seed 0, bf16, 1 GB safetensors shards), SmolLM2's tokenizer (vocabulary",
             "49152), untied lm_head. Bytes per token: the tensors a decode step reads (all but the token",
             "embeddings). Effective GB/s = bytes per token x decode tok/s; % of the read bandwidth measured",
             "in this run (linear_bench BM_ReadBandwidth, 512 MiB STREAM-style: "
             + ", ".join(f"{fmt(v, 2)} GB/s on {t} thread{'s' if t > 1 else ''}" for t, v in sorted(bandwidth.items()))
             + f"). Prompt of {n_prompt} tokens, {n_decode} decode steps.", "",
             "| system | format | threads | decode tok/s | MB per token | effective GB/s | % of read bandwidth | prompt tok/s | peak RSS MB |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r.get("error"):
            lines.append(f"| {r['system']} | {r['format']} | {r['threads']} | n/a: {r['error'].replace('|', '/')} "
                         "| | | | | |")
            continue
        gbs = r["bytes_per_token"] * r["decode_tps"] / 1e9 if r.get("decode_tps") else None
        pct = 100 * gbs / bandwidth[r["threads"]] if gbs and bandwidth.get(r["threads"]) else None
        lines.append(f"| {r['system']} | {r['format']} | {r['threads']} | {fmt(r.get('decode_tps'))} | "
                     f"{fmt(r['bytes_per_token'] / 1e6, 0)} | {fmt(gbs, 2)} | {fmt(pct, 0)} | "
                     f"{fmt(r.get('prompt_tps'))} | {fmt(r.get('rss_mb'), 0)} |")

    def get(system, fmt_, t, key="decode_tps"):
        return next((r.get(key) for r in rows if r["system"] == system and r["format"] == fmt_
                     and r["threads"] == t and not r.get("error")), None)
    lines += ["", "| ratio | threads | decode | prompt | goal (decode) |", "|---|---:|---:|---:|---|"]
    for w, q, goal in LARGE_PAIRS:
        for t in (1, 2):
            d = ratio(get("wquant", w, t), get("llama.cpp", q, t))
            p = ratio(get("wquant", w, t, "prompt_tps"), get("llama.cpp", q, t, "prompt_tps"))
            met = f">= {goal}: " + ("met" if d is not None and d >= float(goal) else "missed")
            lines.append(f"| wquant {w} / llama.cpp {q} | {t} | {fmt(d, 2)}x | {fmt(p, 2)}x | {met} |")
    for w in ("W4-g32", "W3-g64", "W2-g64"):
        for t in (1, 2):
            d = ratio(get("wquant", w, t), get("wquant", "W8", t))
            b = ratio(get("wquant", "W8", t, "bytes_per_token"), get("wquant", w, t, "bytes_per_token"))
            lines.append(f"| wquant {w} / wquant W8 (bytes ratio {fmt(b, 2)}x) | {t} | {fmt(d, 2)}x | "
                         f"{fmt(ratio(get('wquant', w, t, 'prompt_tps'), get('wquant', 'W8', t, 'prompt_tps')), 2)}x | |")
    lines += ["", "Models: " + "; ".join(f"wquant {n}: `wquant quantize hf-bf16 {' '.join(a)}`"
                                         for n, a in LARGE_WQUANT.items())
              + "; llama.cpp: `convert_hf_to_gguf.py --outtype bf16`, then `llama-quantize` to "
              + ", ".join(LARGE_LLAMA) + f" (no importance matrix). Cached in `{LARGE}`. "
              "W3 runs in the 4-bit layout in memory (3-bit weights are widened at load), so it reads "
              "4/3 of its file's weight bytes per token."]
    return lines


# ---------------------------------------------------------------- report

def machine() -> str:
    name = "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], text=True, capture_output=True).stdout
        m = re.search(r"Model name:\s+(.*)", out)
        name = m.group(1).strip() if m else name
        flags = re.search(r"Flags:\s+(.*)", out)
        isa = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "avx_vnni")
               if flags and f" {f} " in f" {flags.group(1)} "]
    except OSError:
        isa = []
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{name}, {os.cpu_count()} logical CPUs ({', '.join(isa)}), {mem:.0f} GiB, {platform.platform()}"


def git_state() -> str:
    sha = run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    dirty = run(["git", "-C", REPO, "status", "--porcelain", "--", "src", "include", "CMakeLists.txt"],
                check=False).stdout.strip()
    return sha + (" + uncommitted changes in src/include (built as found in the working tree)"
                  if dirty else "")


def kv_cache_mb(config_dir: Path, tokens: int, bytes_per: int) -> float:
    c = json.loads((config_dir / "config.json").read_text())
    head_dim = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
    kv_dim = c.get("num_key_value_heads", c["num_attention_heads"]) * head_dim
    return c["num_hidden_layers"] * 2 * tokens * kv_dim * bytes_per / 1e6


def fmt(x, digits=1):
    if x is None or (isinstance(x, float) and x != x):
        return "n/a"
    return f"{x:.{digits}f}"


def ratio(a, b):
    if a is None or b is None or a != a or b != b or b == 0:
        return None
    return a / b


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="one repetition, fewer variants and contexts (a smoke run, ~5 min)")
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--decode-tokens", type=int, default=64)
    ap.add_argument("--output", type=Path, default=OUT_MD, help="markdown file to write")
    ap.add_argument("--skip-large", action="store_true", help="leave out the synthetic 1.1B model")
    ap.add_argument("--only-large", action="store_true",
                    help="only the synthetic 1.1B model (prints its section, writes no file)")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        kind, *rest = a.worker
        if kind == "export-hf":
            return export_hf_worker(*rest)
        if kind == "make-large":
            return make_large_worker(*rest)
        if kind == "torch":
            return torch_worker(rest[0], rest[1], rest[2], int(rest[3]), rest[4], int(rest[5]))
        raise SystemExit(f"unknown worker {kind}")

    started = time.time()
    load_before = os.getloadavg()
    command = "python bench/e2e.py" + (" --quick" if a.quick else "")
    reps = 1 if a.quick else 3
    contexts = [128, 512, 2048] if a.quick else [128, 512, 1024, 2048]
    ctx_decode = 32
    n_prompt, n_decode = a.prompt_tokens, a.decode_tokens
    notes: list[str] = []

    build_wquant()
    llama = fetch_peers()
    paths = prepare_models(llama, notes)
    thread_opt = wquant_threads_option()
    wq_threads = [1, 2] if thread_opt else [None]
    if not thread_opt:
        notes.append("wquant has no thread control (its ThreadPool uses hardware_concurrency() = "
                     f"{os.cpu_count()} threads, and taskset would only oversubscribe one core); "
                     "its rows are at that default")
    large_lines = []
    if not a.skip_large:
        large_paths = prepare_large(llama, paths["hf-f32"])
        bandwidth = read_bandwidth()
        large_rows = measure_large(llama, large_paths, thread_opt, max(1, reps - 1), n_prompt, 32)
        large_lines = render_large(large_rows, bandwidth, n_prompt, 32, large_paths)
        if a.only_large:
            print("\n".join(large_lines))
            return 0
    prompt = prompt_text(paths["hf-f32"], n_prompt)
    long_prompts = {n: prompt_text(paths["hf-f32"], n) for n in PROMPT_LENGTHS if n != n_prompt}
    rows = []  # dicts: system, format, threads, prompt_tps, decode_tps, rss_mb, weight_bytes, kv_mb,
    #                  prompt_tps_at: {prompt tokens: tok/s}

    # wquant
    for name in WQUANT_MODELS:
        if a.quick and name == "W4-g128":
            continue
        d = paths[f"wquant:{name}"]
        for t in wq_threads:
            try:
                r = run_wquant(d, prompt, n_prompt, n_decode, t, thread_opt, reps)
                r["prompt_tps_at"] = {n_prompt: r["prompt_tps"]}
                for n, text in long_prompts.items():  # prompt speed only: one decode step
                    r["prompt_tps_at"][n] = run_wquant(d, text, n, 1, t, thread_opt, reps)["prompt_tps"]
            except Exception as e:
                r = {"error": str(e)[:200]}
            rows.append({"system": "wquant", "format": name, "threads": t or os.cpu_count(),
                         "weight_bytes": checkpoint_bytes(d),
                         "kv_mb": kv_cache_mb(d, n_prompt + n_decode, 4), **r})

    # llama.cpp
    prompts = [n_prompt] + [n for n in PROMPT_LENGTHS if n != n_prompt]
    for qtype in LLAMA_TYPES:
        m = paths[f"llama:{qtype}"]
        for r in llama_bench_rows(llama, m, qtype, prompts, n_decode, reps):
            rows.append({**r, "weight_bytes": gguf_tensor_bytes(m),
                         "kv_mb": kv_cache_mb(paths["hf-f32"], n_prompt + n_decode, 2)})

    # PyTorch / optimum-quanto
    from tokenizers import Tokenizer
    ids = Tokenizer.from_file(str(paths["hf-f32"] / "tokenizer.json")).encode(
        prompt, add_special_tokens=False).ids[:n_prompt]
    versions = {}
    for variant in TORCH_VARIANTS:
        if a.quick and variant == "quanto-qint8-f32":
            continue
        d = paths["hf-f32"] if variant.endswith("f32") else paths["hf-bf16"]
        p = run([sys.executable, __file__, "--worker", "torch", variant, d, json.dumps(ids), str(n_decode),
                 "1,2", str(reps)], check=False)
        try:
            res = json.loads(p.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            res = {"error": f"worker exited {p.returncode}: " + (p.stderr or "").strip()[-200:], "runs": []}
        if "quanto_version" in res:
            versions["optimum-quanto"] = res["quanto_version"]
        if "wquant_version" in res:
            versions["wquant (Python package)"] = res["wquant_version"]
        if variant.startswith("wquant.torch"):
            system, fmt_name = "wquant.torch", variant.removeprefix("wquant.torch-")
        elif variant.startswith("quanto"):
            system, fmt_name = "optimum-quanto", variant.removeprefix("quanto-")
        else:
            system, fmt_name = "PyTorch", variant
        if res.get("error") or not res["runs"]:
            rows.append({"system": system, "format": fmt_name, "threads": 2,
                         "error": res.get("error", "no result")})
            continue
        for run_ in res["runs"]:
            tnotes = [n.split(": ", 1)[1] for n in res.get("notes", []) if n.startswith(f"{run_['threads']} threads")]
            rows.append({"notes": tnotes, "system": system, "format": fmt_name, "threads": run_["threads"],
                         "prompt_tps": run_["prompt_tps"], "decode_tps": run_["decode_tps"],
                         "rss_mb": res["rss_mb"], "weight_bytes": res["weight_bytes"],
                         "kv_mb": kv_cache_mb(d, n_prompt + n_decode, 4 if variant.endswith("f32") else 2)})

    # Decode tokens/s against context length.
    curve = {c: {} for c in contexts}
    for c in contexts:
        text = prompt_text(paths["hf-f32"], c)
        try:
            r = run_wquant(paths["wquant:W8"], text, c, ctx_decode, 2 if thread_opt else None, thread_opt,
                           max(1, reps - 1))
            curve[c]["wquant W8"] = r["decode_tps"]
            curve[c]["wquant W8 prompt"] = r["prompt_tps"]
        except Exception as e:
            notes.append(f"wquant W8 at context {c}: {str(e)[:150]}")
    if llama_has_depth(llama):
        try:
            res, _ = run_llama_bench(llama, paths["llama:Q8_0"],
                                     ["-p", "0", "-n", str(ctx_decode), "-t", "2",
                                      "-d", ",".join(str(c) for c in contexts)], max(1, reps - 1))
            for x in res:
                if x["n_gen"] > 0 and x.get("n_depth") in curve:
                    curve[x["n_depth"]]["llama.cpp Q8_0"] = x["avg_ts"]
        except Exception as e:
            notes.append(f"llama-bench -d failed: {str(e)[:150]}")
    else:
        notes.append("this llama-bench has no -d (depth) option: no llama.cpp context curve")

    # Versions.
    try:
        versions.update(json.loads(run([sys.executable, "-c",
            "import json, torch, transformers; print(json.dumps({'torch': torch.__version__, "
            "'transformers': transformers.__version__}))"]).stdout))
    except Exception:
        pass
    llama_build = next((r.get("build") for r in rows if r.get("build") not in (None, "unknown")), None)
    versions["llama.cpp"] = (f"as vendored in llama-cpp-python {llama.name.split('-')[-1]} (sdist)"
                             + (f", build {llama_build}" if llama_build else ""))

    md = render(rows, curve, contexts, ctx_decode, n_prompt, n_decode, notes, versions, command,
                started, load_before, paths, thread_opt, large_lines)
    print(md)
    a.output.write_text(md)
    log(f"wrote {a.output} in {time.time() - started:.0f} s")


def render(rows, curve, contexts, ctx_decode, n_prompt, n_decode, notes, versions, command,
           started, load_before, paths, thread_opt, large_lines) -> str:
    load_after = os.getloadavg()
    lines = [
        "# End-to-end performance: SmolLM2-135M-Instruct, and a synthetic 1.1B llama",
        "",
        f"Generated by `{command}` (from the repository root, with the venv's python:",
        "`~/.cache/wquant/venv/bin/python bench/e2e.py`); do not edit by hand.",
        "",
        f"* machine: {machine()}",
        f"* date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"* commit: {git_state()}",
        f"* load average (1 min) before / after the run: {load_before[0]:.2f} / {load_after[0]:.2f}"
        " (above ~0.2 the CPU was shared and the figures are noisy)",
        f"* versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"* workload: prompt of {n_prompt} tokens (genesis.txt), then {n_decode} decode steps, greedy",
        f"* run time: {time.time() - started:.0f} s",
        "",
        "## Tokens/s and peak memory",
        "",
        "Decode tok/s = single-token forward passes per second. RSS bound (issue 4):",
        "weight bytes x 1.1 + KV cache + 50 MB, KV cache for "
        f"{n_prompt + n_decode} tokens in the system's own KV dtype (wquant and PyTorch f32: f32; llama.cpp: f16).",
        "",
        "| system | format | threads | prompt tok/s | decode tok/s | peak RSS MB | weight MB | RSS bound MB | RSS within bound |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if r.get("error"):
            lines.append(f"| {r['system']} | {r['format']} | {r['threads']} | n/a | n/a | n/a | n/a | n/a | "
                         f"n/a: {r['error'].replace('|', '/')} |")
            continue
        wmb = r["weight_bytes"] / 1e6
        bound = wmb * 1.1 + r["kv_mb"] + 50
        ok = "yes" if r["rss_mb"] <= bound else f"no (+{r['rss_mb'] - bound:.0f} MB)"
        extra = ("; " + "; ".join(r["notes"])) if r.get("notes") else ""
        lines.append(f"| {r['system']} | {r['format']} | {r['threads']} | {fmt(r['prompt_tps'])} | "
                     f"{fmt(r['decode_tps'])} | {fmt(r['rss_mb'])} | {fmt(wmb)} | {fmt(bound)} | {ok}{extra} |")

    def get(system, fmt_, threads, key="decode_tps"):
        for r in rows:
            if r["system"] == system and r["format"] == fmt_ and r["threads"] == threads and not r.get("error"):
                return r.get(key)
        return None

    wq_t = [1, 2] if thread_opt else [os.cpu_count()]
    pairs = [
        ("wquant W8 / llama.cpp Q8_0", ("wquant", "W8"), ("llama.cpp", "Q8_0"), "1.0"),
        ("wquant W8-emb / llama.cpp Q8_0", ("wquant", "W8-emb"), ("llama.cpp", "Q8_0"), "1.15"),
        ("wquant W4-g32 / llama.cpp Q4_0", ("wquant", "W4-g32"), ("llama.cpp", "Q4_0"), "1.0"),
        ("wquant W4-g32-emb8 / llama.cpp Q4_0", ("wquant", "W4-g32-emb8"), ("llama.cpp", "Q4_0"), "1.15"),
        ("wquant W4-g128 / llama.cpp Q4_0", ("wquant", "W4-g128"), ("llama.cpp", "Q4_0"), "1.0"),
        ("wquant W3-g64-emb8 / llama.cpp Q3_K_M", ("wquant", "W3-g64-emb8"), ("llama.cpp", "Q3_K_M"), "1.3"),
        ("wquant W2-g64-emb8 / llama.cpp Q2_K", ("wquant", "W2-g64-emb8"), ("llama.cpp", "Q2_K"), "1.3"),
        ("wquant bf16 / PyTorch bf16", ("wquant", "bf16"), ("PyTorch", "bf16"), ""),
        ("wquant f32 / PyTorch f32", ("wquant", "f32"), ("PyTorch", "f32"), ""),
        ("wquant W8 / PyTorch bf16", ("wquant", "W8"), ("PyTorch", "bf16"), ""),
        ("wquant W8 / optimum-quanto qint8 (bf16)", ("wquant", "W8"), ("optimum-quanto", "qint8-bf16"), ""),
        ("wquant.torch W8 / PyTorch bf16", ("wquant.torch", "w8-bf16"), ("PyTorch", "bf16"), ""),
        ("wquant.torch W8 / optimum-quanto qint8 (bf16)", ("wquant.torch", "w8-bf16"),
         ("optimum-quanto", "qint8-bf16"), ""),
        ("wquant.torch W8 (f32) / optimum-quanto qint8 (f32)", ("wquant.torch", "w8-f32"),
         ("optimum-quanto", "qint8-f32"), ""),
        ("wquant.torch W4-g32 / PyTorch bf16", ("wquant.torch", "w4-g32-bf16"), ("PyTorch", "bf16"), ""),
        ("wquant W8 / wquant.torch W8 (bf16)", ("wquant", "W8"), ("wquant.torch", "w8-bf16"), ""),
        ("wquant W8 / wquant bf16", ("wquant", "W8"), ("wquant", "bf16"), ""),
        ("wquant W4-g32 / wquant W8", ("wquant", "W4-g32"), ("wquant", "W8"), ""),
        ("wquant W4-g32-emb8 / wquant W8-emb", ("wquant", "W4-g32-emb8"), ("wquant", "W8-emb"), ""),
        ("wquant W3-g64-emb8 / wquant W8-emb", ("wquant", "W3-g64-emb8"), ("wquant", "W8-emb"), ""),
        ("wquant W2-g64-emb8 / wquant W8-emb", ("wquant", "W2-g64-emb8"), ("wquant", "W8-emb"), ""),
    ]
    def best(system, fmt_, key="decode_tps"):
        vals = [get(system, fmt_, t, key) for t in (1, 2)]
        vals = [v for v in vals if v is not None]
        return max(vals) if vals else None

    lines += ["", "## Ratios", "",
              "Same thread count (both tools given the same threads: the goals' comparison), and, for",
              "information, against the denominator's best of 1 and 2 threads (the figure to read if the",
              "second core was busy during one of the runs).", "",
              "| ratio | threads | decode | prompt | goal (decode) | decode vs best | prompt vs best |",
              "|---|---:|---:|---:|---|---:|---:|"]
    for label, num, den, goal in pairs:
        for t in wq_t:
            d = ratio(get(*num, t), get(*den, t))
            p = ratio(get(*num, t, "prompt_tps"), get(*den, t, "prompt_tps"))
            if d is None and p is None:
                continue
            db = ratio(get(*num, t), best(*den))
            pb = ratio(get(*num, t, "prompt_tps"), best(*den, "prompt_tps"))
            met = "" if not goal else (f">= {goal}: " + ("met" if d is not None and d >= float(goal)
                                                         else "missed"))
            lines.append(f"| {label} | {t} | {fmt(d, 2)}x | {fmt(p, 2)}x | {met} | {fmt(db, 2)}x | {fmt(pb, 2)}x |")

    # Prompt speed at each prompt length, for the pairs with a llama.cpp peer.
    lines += ["", "## Prompt tokens/s against llama.cpp at each prompt length", "",
              "wquant: `wquant generate` with a prompt of N tokens (prompt tok/s as it reports: the batched",
              "forward pass over the prompt); llama.cpp: `llama-bench -p N`. Goal (issue 10): >= 1.0x for",
              "every pair.", "",
              "| pair | threads | " + " | ".join(f"wquant / llama.cpp at {n}" for n in PROMPT_LENGTHS)
              + " | " + " | ".join(f"wquant tok/s at {n}" for n in PROMPT_LENGTHS) + " |",
              "|---|---:|" + "---:|" * (2 * len(PROMPT_LENGTHS))]
    for label, num, den, goal in pairs:
        if den[0] != "llama.cpp":
            continue
        for t in wq_t:
            at_num = get(*num, t, "prompt_tps_at") or {}
            at_den = get(*den, t, "prompt_tps_at") or {}
            if not at_num and not at_den:
                continue
            cells = [f"{fmt(ratio(at_num.get(n), at_den.get(n)), 2)}x" for n in PROMPT_LENGTHS]
            cells += [fmt(at_num.get(n)) for n in PROMPT_LENGTHS]
            lines.append(f"| {label} | {t} | " + " | ".join(cells) + " |")

    t_curve = 2
    lines += ["", "## Decode tokens/s against context length", "",
              f"{ctx_decode} decode steps after a prompt of N tokens ({t_curve} threads). wquant: `wquant generate`",
              f"with an N-token prompt; llama.cpp: `llama-bench -p 0 -n {ctx_decode} -d N` (N tokens already in the",
              "KV cache). The last columns are relative to context 128: attention reads the KV cache",
              "(N x 30 layers x 2 x 192 values per token), which grows while the weight bytes stay fixed.", "",
              "| context N | wquant W8 decode tok/s | llama.cpp Q8_0 decode tok/s | W8 / Q8_0 | wquant vs N=128 | llama.cpp vs N=128 | wquant W8 prompt tok/s |",
              "|---:|---:|---:|---:|---:|---:|---:|"]
    base_w = curve[contexts[0]].get("wquant W8")
    base_l = curve[contexts[0]].get("llama.cpp Q8_0")
    for c in contexts:
        w, l_ = curve[c].get("wquant W8"), curve[c].get("llama.cpp Q8_0")
        lines.append(f"| {c} | {fmt(w)} | {fmt(l_)} | {fmt(ratio(w, l_), 2)}x | {fmt(ratio(w, base_w), 2)} | "
                     f"{fmt(ratio(l_, base_l), 2)} | {fmt(curve[c].get('wquant W8 prompt'))} |")

    lines += ["", "## Models", ""]
    lines.append(f"* source: `{GGUF_NAME}` (Q4_1 with Q8_0 token embeddings, tied lm_head); every model "
                 "below descends from it, so all hold the same Q4_1-rounded weights")
    lines.append("* wquant f32 / bf16: transformers 5 `from_pretrained(gguf_file=...)` dequantized, saved as "
                 "safetensors (`hf-f32`, `hf-bf16`); the PyTorch rows load the same directories")
    for name, args in WQUANT_MODELS.items():
        if args:
            kept = ("the tied embedding / lm_head quantized too, at W8 per channel" if "--override" in args
                    else "the tied embedding / lm_head quantized too" if "--include" in args
                    else "lm_head and embeddings kept in float, as wquant does by default")
            cal = (" " + " ".join(str(x) if not isinstance(x, Path) else x.name for x in calibration_args())
                   if name in CALIBRATED else "")
            lines.append(f"* wquant {name}: `wquant quantize {GGUF_NAME} {' '.join(args)}{cal}` ({kept})")
    for q in LLAMA_TYPES:
        lines.append(f"* llama.cpp {q}: `{Path(paths['llama:' + q]).name}`, `llama-quantize` "
                     + ("from the Q4_1 GGUF with --allow-requantize"
                        if "requant" in str(paths["llama:" + q]) else
                        "from `smollm2-135m-f32.gguf` (convert_hf_to_gguf.py --outtype f32 of `hf-f32`)")
                     + "; llama-quantize's default mix (tied token_embd may get another type); "
                     "no importance matrix (speed only: the K-quants with one are in QUALITY_CALIBRATED.md)")
    lines.append("* optimum-quanto: `quantize(model, weights=qint8, exclude='lm_head'); freeze(model)` on "
                 "the bf16 or f32 model (activations stay in that dtype)")
    lines.append("* wquant.torch: `wquant.torch.quantize_linear_layers(model, bits=8, exclude=['lm_head'])` "
                 "(and bits=4, group_size=32) on the same transformers model: each nn.Linear becomes a module "
                 "that holds the compressed-tensors buffers and runs wquant's kernels in forward; everything "
                 "else (attention, norms, sampling loop) is PyTorch's. Threads: the column is wquant's "
                 "(`wquant.set_num_threads`), torch runs on 1 (`torch.set_num_threads(1)`): both pools "
                 "spinning on the same 2 cores halve decode speed")
    lines.append(f"* models cached in `{E2E}`")
    lines += large_lines
    if notes:
        lines += ["", "## Notes", ""] + [f"* {n}" for n in notes]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
