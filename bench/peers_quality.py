#!/usr/bin/env python3
"""Quality of SmolLM2-135M quantized by wquant's peers: llama.cpp and llm-compressor.

The peer side of issue 9 item 6 (the side-by-side quality table):

    ~/.cache/wquant/venv/bin/python bench/peers_quality.py [--windows 128] [--eval-chunks 40] \
        [--json ~/.cache/wquant/calib-bench/peers.json]

It prepares, once, under $WQUANT_CACHE/calib-bench/:
  * hf-f32/          the float model: SmolLM2-135M-Instruct's Q4_1 GGUF dequantized by
                     transformers and saved as f32 safetensors (bench/e2e.py's exporter);
  * smollm2-135m-f32.gguf   an F32 GGUF made from hf-f32 by llama.cpp's convert_hf_to_gguf.py;
and then measures:
  * llama.cpp (scripts/fetch_peers.sh): llama-imatrix on the calibration text (windows of
    --context tokens, --windows of them or as many as the text holds), llama-quantize of the
    F32 GGUF to each of --llama-types with and without that importance matrix, and
    llama-perplexity --kl-divergence against the F32 GGUF's logits on the evaluation text
    (file MB, mean KLD, PPL, "Same top p"); optionally (--cross-eval) wquant eval on the
    same files where wquant can read them.
  * llm-compressor (scripts/fetch_llmcompressor.sh, its own venv, CPU): GPTQ and AWQ
    recipes (--llmc-configs) on hf-f32, calibrated on the same text cut into the same
    windows (the model's tokenizer, no special tokens, consecutive windows from the start),
    quantize wall time and peak RSS, saved as compressed-tensors, then evaluated by
    `wquant eval OUT --reference <Q4_1 GGUF> --text <eval text> --context 512 --chunks N`
    (the GGUF's dequantized weights are the float model). An error (load or otherwise) is
    recorded in the results, not raised.

Calibration text: $WQUANT_CACHE/text/gospels.txt; evaluation text: genesis.txt
(scripts/fetch_text.sh). The two evaluators differ: llama-perplexity scores only the
second half of each chunk (the first half is context), with activations rounded to 8
bits for quantized weights; wquant eval scores every token of each chunk after the
first. Neither adds a BOS token here (the GGUF says add_bos_token false). Compare
figures within one evaluator.

Configuration names for llm-compressor (--llmc-configs, comma separated):
  METHOD-wBITS-gGROUP[-asym][@N] | METHOD-wBITS-channel[-asym][@N] | METHOD-preset-NAME[@N]
METHOD is gptq, awq (AWQ smoothing, then round-to-nearest by QuantizationModifier, as
llm-compressor's AWQ examples do) or rtn (QuantizationModifier alone, min-max
round-to-nearest, data-free: the control for the other two). A group size that does not
divide a layer's input features is shrunk for that layer to the largest divisor below
it, as wquant does (SmolLM2's 576 with 128 becomes 96; llm-compressor refuses
indivisible groups, so its W4A16 preset, g128, fails on SmolLM2: gptq-preset-W4A16
records that). -asym: a zero-point (default symmetric). @N: N calibration windows
instead of --windows. GPTQ: llm-compressor's defaults (dampening 0.01, block 128,
actorder static, so no g_idx). Outputs are cached by configuration and windows
(calib-bench/llmc/); --update merges a run of some of them into the existing --json.
Times: wall and CPU (user + system) seconds of the quantizing process and its peak RSS
(/usr/bin/time -v); on a shared machine the CPU seconds are the steadier figure.

Library use (another script may import this file):
    prepare_float(llama_dir) -> {"hf_f32": Path, "f32_gguf": Path}
    run_llama_cpp(llama_dir, f32_gguf, ...) -> dict
    run_llmcompressor(venv, hf_f32, configs, ...) -> list of dicts

Everything heavy is a subprocess; this file imports only the standard library (and
bench/e2e.py, which does the same), so it runs in the test venv and, as the
llm-compressor worker (--worker llmc SPEC), in the llm-compressor venv.
"""
from __future__ import annotations

import argparse
import datetime
import fcntl
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e  # noqa: E402  (bench/e2e.py: its exporter, fetch_peers, machine and git helpers)

REPO = e2e.REPO
CACHE = e2e.CACHE
BENCH = CACHE / "calib-bench"
GGUF = e2e.GGUF
CALIB_TEXT = CACHE / "text" / "gospels.txt"
EVAL_TEXT = CACHE / "text" / "genesis.txt"
WQUANT = REPO / "build" / "wquant"
LLMC_VENV = CACHE / "llmc-venv"

LLAMA_TYPES = ["Q4_0", "Q4_K_M", "Q3_K_M", "Q2_K"]
# On 2 shared cores llm-compressor is slow: GPTQ W4 g128 on 2 windows takes ~10 CPU
# minutes (its per-column loop), on 128 windows about an hour; AWQ's grid search (20
# scales x 3 mappings x 30 layers, each a forward pass of the block over every window)
# takes about an hour on 4 windows. Hence the default set: W4 g128 (the goals
# compare against it), AWQ on 4 windows. More, e.g. gptq-w4-g128-asym,
# gptq-w3-g128-asym@16, gptq-w2-g64-asym@16, awq-w4-g128-asym@4, with --llmc-configs.
LLMC_CONFIGS = [
    "gptq-preset-W4A16",        # the preset as is (expected to refuse SmolLM2's 576 columns)
    "gptq-w4-g128",             # = W4A16 with wquant's group rule (96 for 576 columns)
    "awq-w4-g128@4",
    "rtn-w4-g128",              # the control: llm-compressor's round-to-nearest, no data
]


def log(*args):
    print("[peers]", *args, file=sys.stderr, flush=True)


def run_timed(cmd, *, env=None, timeout=None, cwd=None) -> dict:
    """Runs cmd under /usr/bin/time -v; returns returncode, stdout, stderr (time's report
    removed), wall seconds, CPU seconds (user + system: steadier than wall time on a shared
    machine) and the child's peak RSS in MB. Never raises on exit status."""
    cmd = [str(c) for c in cmd]
    shown = [c if len(c) <= 100 else f"<{len(c)} chars>" for c in cmd]
    log("$", " ".join(shlex.quote(c) for c in shown))
    t0 = time.perf_counter()
    try:
        p = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, text=True, timeout=timeout,
                           cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except subprocess.TimeoutExpired as e:
        return {"returncode": None, "stdout": e.stdout or "", "stderr": f"timed out after {timeout} s",
                "wall_s": time.perf_counter() - t0, "peak_rss_mb": None}
    wall = time.perf_counter() - t0
    err = p.stderr
    rss = cpu = None
    i = err.rfind("\tCommand being timed:")
    if i >= 0:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err[i:])
        rss = int(m.group(1)) * 1024 / 1e6 if m else None
        t = [float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", err[i:])]
        cpu = sum(t) if len(t) == 2 else None
        err = err[:i]
    err = re.sub(r"Command (exited with non-zero status|terminated by signal) \d+\n?$", "", err)
    return {"returncode": p.returncode, "stdout": p.stdout, "stderr": err, "wall_s": wall,
            "cpu_s": cpu, "peak_rss_mb": rss}


def last_error_line(text: str) -> str:
    """The most telling line of a failed tool's stderr (the last error-like one, else the last)."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    for ln in reversed(lines):
        if re.search(r"error|Error|ERROR|exception|refus|cannot|failed|not supported", ln):
            return ln[:1000]
    return lines[-1][:1000] if lines else "(no output)"


def file_mb(path: Path) -> float:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.glob("*.safetensors")) / 1e6
    return path.stat().st_size / 1e6


# ---------------------------------------------------------------- float model

def prepare_float(llama: Path) -> dict:
    """Creates (once) the f32 safetensors export and the F32 GGUF under calib-bench/."""
    BENCH.mkdir(parents=True, exist_ok=True)
    hf = BENCH / "hf-f32"
    if not (hf / "config.json").exists():
        tmp = BENCH / "hf-f32.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        e2e.run([sys.executable, REPO / "bench" / "e2e.py", "--worker", "export-hf", "f32", tmp], env=env)
        tmp.rename(hf)
    gguf = BENCH / "smollm2-135m-f32.gguf"
    if not gguf.exists():
        tmp = BENCH / "smollm2-135m-f32.gguf.tmp"
        env = dict(os.environ, PYTHONPATH=str(llama / "gguf-py"))
        e2e.run([sys.executable, llama / "convert_hf_to_gguf.py", hf, "--outtype", "f32",
                 "--outfile", tmp], env=env)
        tmp.rename(gguf)
    return {"hf_f32": hf, "f32_gguf": gguf}


# ---------------------------------------------------------------- wquant eval

def wquant_eval(wquant: Path, model: Path, eval_text: Path, context: int, chunks: int,
                reference: Path = GGUF, threads: int | None = None) -> dict:
    """wquant eval MODEL --reference REF --json; returns its figures, or {"error": line}."""
    cmd = [wquant, "eval", model, "--reference", reference, "--text", eval_text,
           "--context", str(context), "--chunks", str(chunks), "--json"]
    if threads:
        cmd += ["--threads", str(threads)]
    r = run_timed(cmd)
    if r["returncode"] != 0:
        return {"error": last_error_line(r["stderr"] or r["stdout"]), "command": " ".join(map(str, cmd))}
    j = json.loads(r["stdout"])
    return {"kld": j.get("mean_kl"), "ppl": j.get("perplexity"), "top1": j.get("top1_agreement"),
            "max_kl": j.get("max_kl"), "reference_ppl": j.get("reference_perplexity"),
            "chunks": j.get("chunks"), "scored_tokens": j.get("scored_tokens"),
            "eval_s": j.get("seconds"), "command": " ".join(map(str, cmd))}


# ---------------------------------------------------------------- llama.cpp

def _parse_float(pattern: str, text: str) -> float | None:
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None


def run_llama_cpp(llama: Path, f32_gguf: Path, *, calib_text: Path = CALIB_TEXT,
                  eval_text: Path = EVAL_TEXT, windows: int = 128, context: int = 512,
                  eval_chunks: int = 40, types: list[str] = LLAMA_TYPES, threads: int | None = None,
                  out_dir: Path | None = None, cross_eval_wquant: Path | None = None) -> dict:
    """Importance matrix, quantized files with and without it, and llama-perplexity KLD.

    Returns {"imatrix": {...}, "base": {...}, "rows": [...]}; each row has type, imatrix
    (bool), file, file_mb, quantize_s, quantize_rss_mb, kld, ppl, top1 (fraction) or error.
    """
    out_dir = out_dir or BENCH / "llama.cpp"
    out_dir.mkdir(parents=True, exist_ok=True)
    bin_ = llama / "build" / "bin"
    threads = threads or os.cpu_count() or 1
    result: dict = {"llama_cpp_dir": str(llama), "threads": threads, "rows": []}

    # Importance matrix from the float model on the calibration text.
    imatrix = out_dir / f"imatrix-{windows}x{context}.gguf"
    cmd = [bin_ / "llama-imatrix", "-m", f32_gguf, "-f", calib_text, "-o", imatrix, "-c", str(context),
           "--chunks", str(windows), "-t", str(threads), "-b", str(context), "--no-ppl"]
    meta = imatrix.with_suffix(".json")
    if imatrix.exists() and meta.exists():
        info = json.loads(meta.read_text())
        info["cached"] = True
    else:
        r = run_timed(cmd)
        info = {"command": " ".join(map(str, cmd)), "wall_s": r["wall_s"], "cpu_s": r["cpu_s"],
                "peak_rss_mb": r["peak_rss_mb"]}
        if r["returncode"] != 0 or not imatrix.exists():
            info["error"] = last_error_line(r["stderr"])
            imatrix.unlink(missing_ok=True)
        else:
            m = re.search(r"computing over (\d+) chunks", r["stderr"])
            info["chunks"] = int(m.group(1)) if m else None
            info["tokens"] = info["chunks"] * context if info["chunks"] else None
            meta.write_text(json.dumps(info, indent=1))
    result["imatrix"] = info
    have_imatrix = "error" not in info

    # Quantized files, from the F32 GGUF.
    files = []
    for qtype in types:
        for with_imatrix in (False, True):
            row = {"system": "llama.cpp", "type": qtype, "imatrix": with_imatrix,
                   "config": qtype + ("+imatrix" if with_imatrix else "")}
            if with_imatrix and not have_imatrix:
                row["error"] = "no importance matrix: " + info.get("error", "")
                result["rows"].append(row)
                continue
            name = f"smollm2-135m-{qtype.lower()}" + (f"-imatrix{windows}" if with_imatrix else "") + ".gguf"
            out = out_dir / name
            qmeta = out.with_suffix(".json")
            qcmd = [bin_ / "llama-quantize", *(["--imatrix", imatrix] if with_imatrix else []),
                    f32_gguf, out, qtype, str(threads)]
            if out.exists() and qmeta.exists():
                q = json.loads(qmeta.read_text())
                row.update(q, cached=True)
            else:
                tmp = out.with_suffix(".tmp")
                r = run_timed([*qcmd[:-3], tmp, qtype, str(threads)])
                row.update(quantize_command=" ".join(map(str, qcmd)), quantize_s=r["wall_s"],
                           quantize_cpu_s=r["cpu_s"], quantize_rss_mb=r["peak_rss_mb"])
                if r["returncode"] != 0:
                    row["error"] = last_error_line(r["stderr"])
                    tmp.unlink(missing_ok=True)
                    result["rows"].append(row)
                    continue
                tmp.rename(out)
                qmeta.write_text(json.dumps({k: row[k] for k in ("quantize_command", "quantize_s",
                                                                "quantize_cpu_s", "quantize_rss_mb")}, indent=1))
            row["file"] = str(out)
            row["file_mb"] = file_mb(out)
            files.append(row)
            result["rows"].append(row)

    # KL divergence: the float logits once, then each file against them.
    base = out_dir / f"kld-base-{eval_text.stem}-c{context}-n{eval_chunks}.bin"
    bcmd = [bin_ / "llama-perplexity", "-m", f32_gguf, "-f", eval_text, "-c", str(context),
            "--chunks", str(eval_chunks), "-t", str(threads), "--kl-divergence-base", base]
    r = run_timed(bcmd)
    binfo = {"command": " ".join(map(str, bcmd)), "wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"]}
    if r["returncode"] != 0 or not base.exists():
        binfo["error"] = last_error_line(r["stderr"])
    else:
        binfo["ppl"] = _parse_float(r"Final estimate: PPL = ([\d.]+)", r["stderr"] + r["stdout"])
        m = re.search(r"calculating perplexity over (\d+) chunks", r["stderr"])
        binfo["chunks"] = int(m.group(1)) if m else None
    result["base"] = binfo
    for row in files:
        if "error" in binfo:
            row["error"] = "no KLD base: " + binfo["error"]
            continue
        kcmd = [bin_ / "llama-perplexity", "-m", row["file"], "-c", str(context), "--chunks", str(eval_chunks),
                "-t", str(threads), "--kl-divergence-base", base, "--kl-divergence"]
        r = run_timed(kcmd)
        row["eval_command"] = " ".join(map(str, kcmd))
        row["eval_s"] = r["wall_s"]
        if r["returncode"] != 0:
            row["error"] = last_error_line(r["stderr"])
            continue
        text = r["stderr"] + r["stdout"]
        row["kld"] = _parse_float(r"Mean\s+KLD:\s+(-?[\d.]+)", text)
        row["ppl"] = _parse_float(r"Mean PPL\(Q\)\s*:\s*([\d.]+)", text)
        row["ppl_base"] = _parse_float(r"Mean PPL\(base\)\s*:\s*([\d.]+)", text)
        top = _parse_float(r"Same top p:\s*([\d.]+)", text)
        row["top1"] = top / 100 if top is not None else None
        row["kld_99"] = _parse_float(r"99\.0%\s+KLD:\s+([\d.]+)", text)
        if row["kld"] is None:
            row["error"] = "no 'Mean KLD' in llama-perplexity's output: " + last_error_line(text)
        if cross_eval_wquant is not None:
            row["wquant_eval"] = wquant_eval(cross_eval_wquant, Path(row["file"]), eval_text, context,
                                             eval_chunks, threads=threads)
    return result


# ---------------------------------------------------------------- llm-compressor

def fetch_llmcompressor() -> Path:
    p = e2e.run(["bash", REPO / "scripts" / "fetch_llmcompressor.sh"])
    return Path(p.stdout.strip().splitlines()[-1])


def parse_config(name: str) -> dict:
    """'gptq-w4-g128-asym' -> {"method", "bits", "group" (None: per channel), "symmetric"};
    'gptq-preset-W4A16' -> {"method", "preset"}; a suffix '@N' (e.g. 'awq-w4-g128@16')
    calibrates on N windows instead of the run's number ("windows")."""
    base, _, at = name.partition("@")
    extra = {}
    if at:
        if not at.isdigit() or int(at) < 1:
            raise SystemExit(f"bad window count in llm-compressor configuration '{name}'")
        extra["windows"] = int(at)
    m = re.fullmatch(r"(gptq|awq|rtn)-preset-([A-Za-z0-9_]+)", base)
    if m:
        return {"name": base, "method": m.group(1), "preset": m.group(2), **extra}
    m = re.fullmatch(r"(gptq|awq|rtn)-w([2-8])-(?:g(\d+)|(channel))(-asym)?", base)
    if not m:
        raise SystemExit(f"bad llm-compressor configuration name '{name}' (expected e.g. gptq-w4-g128, "
                         "awq-w4-g128-asym@16, gptq-w8-channel, gptq-preset-W4A16)")
    return {"name": base, "method": m.group(1), "bits": int(m.group(2)),
            "group": int(m.group(3)) if m.group(3) else None, "symmetric": not m.group(5), **extra}


def run_llmcompressor(venv: Path, hf_f32: Path, configs: list[str] = LLMC_CONFIGS, *,
                      calib_text: Path = CALIB_TEXT, eval_text: Path = EVAL_TEXT, windows: int = 128,
                      context: int = 512, eval_chunks: int = 40, wquant: Path = WQUANT,
                      reference: Path = GGUF, out_dir: Path | None = None, threads: int | None = None,
                      force: bool = False, timeout: float | None = None,
                      evaluate: bool = True) -> list[dict]:
    """Quantizes hf_f32 with each llm-compressor configuration in its venv, then wquant evals it.

    Each row: config, method, output dir, file_mb, windows / tokens used, quantize_s (the
    oneshot call), process_s and peak_rss_mb (the whole worker process: load, calibrate,
    quantize, save), versions, wquant's kld / ppl / top1, or error (quantize or eval).
    A finished output (same configuration, windows, context, text) is reused unless force;
    evaluate=False quantizes only (no wquant eval).
    """
    out_dir = out_dir or BENCH / "llmc"
    out_dir.mkdir(parents=True, exist_ok=True)
    threads = threads or os.cpu_count() or 1
    rows = []
    for name in configs:
        spec = parse_config(name)
        spec.setdefault("windows", windows)
        if spec["method"] == "rtn":
            spec["windows"] = 0  # data-free
        spec.update(model=str(hf_f32), text=str(calib_text), context=context, threads=threads)
        name = spec["name"]
        out = out_dir / f"{name}-n{spec['windows']}x{context}"
        meta_path = out / "peers_meta.json"
        row = {"system": "llm-compressor", "config": name, "method": spec["method"], "output": str(out),
               "windows_requested": spec["windows"]}
        # One run at a time per output: another run of this script quantizing the same
        # configuration holds the lock; wait for it, then reuse its output.
        lock = open(out_dir / f"{out.name}.lock", "w")
        if not _try_lock(lock):
            log(f"waiting for another run quantizing {out.name}")
            fcntl.flock(lock, fcntl.LOCK_EX)
            force = False
        meta = json.loads(meta_path.read_text()) if meta_path.exists() and not force else None
        if meta and meta.get("spec") == spec:
            row.update(meta["result"], cached=True)
        else:
            shutil.rmtree(out, ignore_errors=True)
            tmp = out_dir / (out.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1",
                       OMP_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="false")
            r = run_timed([venv / "bin" / "python", Path(__file__).resolve(), "--worker", "llmc",
                           json.dumps({**spec, "out": str(tmp)})], env=env, timeout=timeout)
            res = {"process_s": r["wall_s"], "process_cpu_s": r["cpu_s"], "peak_rss_mb": r["peak_rss_mb"]}
            lines = [ln for ln in r["stdout"].splitlines() if ln.startswith("{")]
            worker = json.loads(lines[-1]) if lines else {}
            res.update(worker)
            if r["returncode"] != 0 and "error" not in res:
                res["error"] = last_error_line(r["stderr"])
            (out_dir / f"{out.name}.log").write_text(r["stderr"][-200000:])
            row.update(res)
            if "error" not in res and tmp.exists():
                tmp.rename(out)
                meta_path.write_text(json.dumps({"spec": spec, "result": res}, indent=1))
            else:
                shutil.rmtree(tmp, ignore_errors=True)
        lock.close()
        if "error" in row:
            row["stage"] = row.get("stage", "quantize")
            rows.append(row)
            continue
        row["file_mb"] = file_mb(out)
        if not evaluate:
            rows.append(row)
            continue
        ev = wquant_eval(wquant, out, eval_text, context, eval_chunks, reference=reference, threads=threads)
        if "error" in ev:
            row.update(error=ev["error"], stage="wquant eval", eval_command=ev["command"])
        else:
            row.update({k: ev[k] for k in ("kld", "ppl", "top1", "max_kl", "reference_ppl", "chunks",
                                          "scored_tokens", "eval_s")}, eval_command=ev["command"])
        rows.append(row)
    return rows


def _try_lock(f) -> bool:
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def llmc_worker(spec_json: str):
    """Worker (llm-compressor venv): one oneshot() run; prints one JSON line last."""
    spec = json.loads(spec_json)
    result: dict = {}
    try:
        _llmc_quantize(spec, result)
    except Exception as e:  # noqa: BLE001  (recorded, not raised: the table says what failed)
        import traceback
        traceback.print_exc()
        result["error"] = f"{type(e).__name__}: {e}".strip()[:2000]
    print(json.dumps(result), flush=True)
    sys.exit(1 if "error" in result else 0)


def _llmc_quantize(spec: dict, result: dict):
    import importlib.metadata as md

    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(spec["threads"])
    result["versions"] = {p: md.version(p) for p in ("llmcompressor", "compressed-tensors",
                                                    "transformers", "torch")}
    result["stage"] = "load"
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(spec["model"])
    ids = tok(Path(spec["text"]).read_text(encoding="utf-8"), add_special_tokens=False)["input_ids"]
    ctx = spec["context"]
    n = min(spec["windows"], len(ids) // ctx)
    result.update(text_tokens=len(ids), windows=n, tokens=n * ctx, context=ctx)
    ds = Dataset.from_dict({"input_ids": [ids[i * ctx:(i + 1) * ctx] for i in range(n)],
                            "attention_mask": [[1] * ctx for _ in range(n)]})
    model = AutoModelForCausalLM.from_pretrained(spec["model"], dtype=torch.float32)
    result["load_s"] = time.perf_counter() - t0

    result["stage"] = "recipe"
    recipe, groups = _llmc_recipe(spec, model)
    result["recipe"] = repr(recipe)[:4000]
    result["group_sizes"] = groups

    from llmcompressor import oneshot
    if not torch.cuda.is_available():
        # llm-compressor 0.14's AWQ pins its cached block inputs for faster host-to-GPU
        # copies (IntermediatesCache.pin_memory), which raises "RuntimeError: Found no
        # NVIDIA driver on your system" without a GPU. Pinning changes no value: skip it.
        from llmcompressor.pipelines.cache import IntermediatesCache
        if hasattr(IntermediatesCache, "pin_memory"):
            IntermediatesCache.pin_memory = lambda self, *args, **kwargs: None
            result["patches"] = ["IntermediatesCache.pin_memory: no-op (no GPU; it raises "
                                 "'Found no NVIDIA driver on your system' in AWQ otherwise)"]
    result["stage"] = "quantize"
    t0, c0 = time.perf_counter(), time.process_time()
    if spec["method"] == "rtn":  # data-free: no calibration windows
        result.update(windows=0, tokens=0)
        oneshot(model=model, tokenizer=tok, recipe=recipe, output_dir=spec["out"])
    else:
        oneshot(model=model, tokenizer=tok, dataset=ds, recipe=recipe, num_calibration_samples=n,
                max_seq_length=ctx, shuffle_calibration_samples=False, output_dir=spec["out"])
    result["quantize_s"] = time.perf_counter() - t0
    result["quantize_cpu_s"] = time.process_time() - c0
    del result["stage"]
    cfg = json.loads((Path(spec["out"]) / "config.json").read_text()).get("quantization_config", {})
    result["quant_method"] = cfg.get("quant_method")
    result["format"] = cfg.get("format")


def _llmc_recipe(spec: dict, model):
    import torch
    from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme

    from llmcompressor.modifiers.quantization import GPTQModifier, QuantizationModifier

    if "preset" in spec:
        scheme_kwargs = {"scheme": spec["preset"], "targets": ["Linear"], "ignore": ["lm_head"]}
        groups = {"preset": spec["preset"]}
    else:
        # Per layer group size: the largest divisor of the input features <= the requested one
        # (wquant's rule), one config group per resulting group size.
        by_size: dict = {}
        for name, mod in model.named_modules():
            if not isinstance(mod, torch.nn.Linear) or name == "lm_head":
                continue
            g = spec["group"]
            if g is not None:
                cols = mod.in_features
                g = max(d for d in range(1, min(g, cols) + 1) if cols % d == 0)
            by_size.setdefault(g, []).append(name)
        config_groups = {}
        groups = {}
        for i, (g, names) in enumerate(sorted(by_size.items(), key=lambda kv: -(kv[0] or 0))):
            suffixes = sorted({n.rsplit(".", 1)[-1] for n in names})
            args = QuantizationArgs(num_bits=spec["bits"], type="int", symmetric=spec["symmetric"],
                                    strategy="group" if g else "channel", group_size=g, dynamic=False)
            config_groups[f"group_{i}"] = QuantizationScheme(
                targets=[f"re:.*\\.({'|'.join(suffixes)})$"], weights=args)
            groups[str(g or "channel")] = suffixes
        scheme_kwargs = {"config_groups": config_groups, "ignore": ["lm_head"]}
    if spec["method"] == "gptq":
        return [GPTQModifier(**scheme_kwargs)], groups
    if spec["method"] == "rtn":
        return [QuantizationModifier(**scheme_kwargs)], groups
    from llmcompressor.modifiers.transform import AWQModifier
    return [AWQModifier(), QuantizationModifier(**scheme_kwargs)], groups


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--windows", type=int, default=128,
                    help="calibration windows (of --context tokens) for llama-imatrix and llm-compressor")
    ap.add_argument("--context", type=int, default=512, help="tokens per calibration window and eval chunk")
    ap.add_argument("--eval-chunks", type=int, default=40, help="evaluation chunks (both evaluators)")
    ap.add_argument("--calibration-text", type=Path, default=CALIB_TEXT)
    ap.add_argument("--eval-text", type=Path, default=EVAL_TEXT)
    ap.add_argument("--llama-types", default=",".join(LLAMA_TYPES))
    ap.add_argument("--llmc-configs", default=",".join(LLMC_CONFIGS),
                    help="comma-separated llm-compressor configurations (see the module doc)")
    ap.add_argument("--skip", default="", help="comma-separated: llama, llmc, float (wquant eval of the "
                    "float model, kept from the old results with --update)")
    ap.add_argument("--update", action="store_true",
                    help="merge into the existing --json file: the parts run now replace theirs "
                    "(llm-compressor rows by configuration and windows), the rest is kept")
    ap.add_argument("--wquant", type=Path, default=WQUANT, help="the wquant binary used by `wquant eval` "
                    "(copied aside at the start, as the build may change during the run)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--cross-eval", action="store_true",
                    help="also run wquant eval on the llama.cpp files (it may not read K-quants)")
    ap.add_argument("--force", action="store_true", help="redo llm-compressor outputs found in the cache")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        if a.worker[0] == "llmc":
            return llmc_worker(a.worker[1])
        raise SystemExit(f"unknown worker {a.worker[0]}")

    started = time.time()
    skip = set(filter(None, a.skip.split(",")))
    for p in (a.calibration_text, a.eval_text, GGUF):
        if not p.exists():
            raise SystemExit(f"peers_quality: {p} is missing (scripts/fetch_text.sh, scripts/fetch_models.sh)")
    BENCH.mkdir(parents=True, exist_ok=True)
    wquant = BENCH / "wquant-snapshot"
    shutil.copy2(a.wquant, wquant.with_suffix(".tmp"))
    os.replace(wquant.with_suffix(".tmp"), wquant)  # a running snapshot keeps its old file
    results = {
        "command": "python bench/peers_quality.py " + " ".join(shlex.quote(x) for x in sys.argv[1:]),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": e2e.machine(), "git": e2e.git_state(),
        "load_average_at_start": os.getloadavg(),
        "calibration_text": str(a.calibration_text), "eval_text": str(a.eval_text),
        "windows_requested": a.windows, "context": a.context, "eval_chunks": a.eval_chunks,
        "threads": a.threads, "reference_for_wquant_eval": str(GGUF),
        "notes": [
            "float model: SmolLM2-135M-Instruct Q4_1 GGUF dequantized (its weights lie on a 4-bit grid "
            "with a float minimum per 32 values: formats with groups of 32 and a minimum have an edge)",
            "llama.cpp rows: llama-perplexity --kl-divergence against the F32 GGUF (second half of each "
            "chunk scored, activations rounded to 8 bits for quantized matmuls; no BOS: add_bos_token false)",
            "llm-compressor rows: wquant eval against the Q4_1 GGUF (every token of each chunk, no BOS)",
            "llm-compressor group sizes: the largest divisor of a layer's input features <= the named "
            "one (576 columns with g128 -> 96, as wquant does); down_proj (1536) keeps 128",
        ],
    }
    llama = e2e.fetch_peers()
    paths = prepare_float(llama)
    results["float"] = {k: str(v) for k, v in paths.items()}
    results["float"]["hf_f32_mb"] = file_mb(paths["hf_f32"])
    results["float"]["f32_gguf_mb"] = file_mb(paths["f32_gguf"])
    old = json.loads(a.json.read_text()) if a.update and a.json and a.json.exists() else None
    if old:
        for k in ("calibration_text", "eval_text", "context", "eval_chunks"):
            if str(old.get(k)) != str(results[k]):
                raise SystemExit(f"peers_quality: --update: {k} is {results[k]} here, {old.get(k)} in {a.json}")
    if "float" in skip and old and "float" in old:
        results["float"]["wquant_eval"] = old["float"].get("wquant_eval")
    elif "float" not in skip:
        results["float"]["wquant_eval"] = wquant_eval(wquant, paths["hf_f32"], a.eval_text, a.context,
                                                      a.eval_chunks, threads=a.threads)
    if old:
        # The first run's description stays; each update is listed.
        updates = old.get("updates", []) + [{k: results[k] for k in ("command", "date", "git",
                                                                     "load_average_at_start")}]
        for k in ("command", "date", "git", "load_average_at_start", "windows_requested", "notes",
                  "elapsed_s"):
            results[k] = old.get(k, results.get(k))
        results["updates"] = updates
        for part in ("llama_cpp", "llmcompressor"):
            if part in old:
                results[part] = old[part]

    def save():
        if "updates" in results:
            results["updates"][-1]["elapsed_s"] = time.time() - started
        else:
            results["elapsed_s"] = time.time() - started
        if a.json:
            a.json.parent.mkdir(parents=True, exist_ok=True)
            a.json.write_text(json.dumps(results, indent=1))

    if "llama" not in skip:
        t0 = time.time()
        results["llama_cpp"] = run_llama_cpp(
            llama, paths["f32_gguf"], calib_text=a.calibration_text, eval_text=a.eval_text,
            windows=a.windows, context=a.context, eval_chunks=a.eval_chunks,
            types=a.llama_types.split(","), threads=a.threads,
            cross_eval_wquant=wquant if a.cross_eval else None)
        results["llama_cpp"]["elapsed_s"] = time.time() - t0
        save()
    if "llmc" not in skip:
        t0 = time.time()
        venv = fetch_llmcompressor()
        kept = results.get("llmcompressor", {}).get("rows", [])
        results["llmcompressor"] = {"venv": str(venv), "rows": kept}
        for name in a.llmc_configs.split(","):  # one at a time, saved after each
            new = run_llmcompressor(
                venv, paths["hf_f32"], [name], calib_text=a.calibration_text, eval_text=a.eval_text,
                windows=a.windows, context=a.context, eval_chunks=a.eval_chunks, wquant=wquant,
                threads=a.threads, force=a.force)
            keys = {(r["config"], r["windows_requested"]) for r in new}
            rows = [r for r in results["llmcompressor"]["rows"]
                    if (r["config"], r.get("windows_requested")) not in keys]
            results["llmcompressor"]["rows"] = rows + new
            results["llmcompressor"]["elapsed_s"] = time.time() - t0
            save()
    save()
    print_table(results)


def print_table(results: dict):
    """Prints the results as a markdown table (wall and CPU seconds of the quantizing process)."""
    def f(x, d=3):
        return "" if x is None else (f"{x:.{d}f}" if isinstance(x, float) else str(x))
    print(f"calibration {results['calibration_text']}, evaluation {results['eval_text']}, "
          f"context {results['context']}, {results['eval_chunks']} eval chunks")
    print("| system | config | file MB | KLD | PPL | top-1 | quantize wall s | CPU s | peak RSS MB "
          "| evaluator / note |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    fl = results.get("float", {})
    ev = fl.get("wquant_eval", {})
    print(f"| float | f32 export | {f(fl.get('hf_f32_mb'), 1)} | {f(ev.get('kld'), 4)} | {f(ev.get('ppl'))} "
          f"| {f(ev.get('top1'))} | | | | wquant eval {ev.get('error', '')} |")
    lc = results.get("llama_cpp")
    if lc:
        b = lc.get("base", {})
        im = lc.get("imatrix", {})
        print(f"| llama.cpp | F32 | {f(fl.get('f32_gguf_mb'), 1)} | | {f(b.get('ppl'))} | | | | | "
              f"llama-perplexity base {b.get('error', '')} |")
        print(f"| llama.cpp | imatrix | | | | | {f(im.get('wall_s'), 1)} | {f(im.get('cpu_s'), 1)} "
              f"| {f(im.get('peak_rss_mb'), 0)} | {im.get('chunks')} chunks of {results['context']} "
              f"{im.get('error', '')} |")
        for r in lc["rows"]:
            note = r.get("error", "llama-perplexity")
            w = r.get("wquant_eval")
            if w:
                note += (f"; wquant eval KLD {f(w.get('kld'), 4)} PPL {f(w.get('ppl'))} top-1 {f(w.get('top1'))}"
                         if "error" not in w else f"; wquant eval: {w['error']}")
            print(f"| llama.cpp | {r['config']} | {f(r.get('file_mb'), 1)} | {f(r.get('kld'), 4)} | "
                  f"{f(r.get('ppl'))} | {f(r.get('top1'))} | {f(r.get('quantize_s'), 1)} | "
                  f"{f(r.get('quantize_cpu_s'), 1)} | {f(r.get('quantize_rss_mb'), 0)} | {note} |")
    lm = results.get("llmcompressor")
    if lm:
        for r in lm["rows"]:
            note = (f"{r.get('stage')}: {r['error'].splitlines()[0]}" if "error" in r
                    else f"wquant eval; {r.get('windows')} windows; oneshot {f(r.get('quantize_s'), 0)} s")
            print(f"| llm-compressor | {r['config']} | {f(r.get('file_mb'), 1)} | {f(r.get('kld'), 4)} | "
                  f"{f(r.get('ppl'))} | {f(r.get('top1'))} | {f(r.get('process_s'), 1)} | "
                  f"{f(r.get('process_cpu_s'), 1)} | {f(r.get('peak_rss_mb'), 0)} | {note} |")


if __name__ == "__main__":
    main()
