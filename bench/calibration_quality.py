#!/usr/bin/env python3
"""Calibrated quantization side by side: wquant's methods, llm-compressor, llama.cpp.

One command, one run (issue 9, item 6), regenerating docs/QUALITY_CALIBRATED.md:

    ~/.cache/wquant/venv/bin/python bench/calibration_quality.py [--windows 32] [--eval-chunks 40] \
        [--skip llama,llmc] > docs/QUALITY_CALIBRATED.md

SmolLM2-135M-Instruct (the Q4_1 GGUF, dequantized: the float model) is quantized by
`wquant quantize` with each scheme and method below, calibrated on the Gospels
(Matthew to John, Debian's bible-kjv, scripts/fetch_text.sh) and evaluated on Genesis
by `wquant eval --reference` (mean KL divergence per token against the float model,
perplexity, top-1 agreement), windows of --context tokens. The peers come from
bench/peers_quality.py on the same texts and the same number of calibration windows:
llm-compressor's GPTQ and AWQ (its own venv, CPU; outputs evaluated by the same
`wquant eval`) and llama.cpp's Q4_0 / Q4_K_M / Q3_K_M / Q2_K with and without an
importance matrix (llama-imatrix on the calibration text), evaluated by
llama-perplexity --kl-divergence and by `wquant eval` (the same evaluator as the
wquant rows: the goals compare within it). all-MiniLM-L6-v2: cosine of quantized to float embeddings of
Genesis verses, per method: rtn, mse, and calibrated on the Gospels (MINILM_CALIBRATION:
windows of 256 tokens, the encoder's own tokenizer) mse and gptq.

A run saves its JSON after every row; `--resume` continues one that was cut short.

Timings are wall times of whole processes on this machine; the 1-minute load average
before and after the run is printed: when it exceeds the cores, other work shared the
machine and times are upper bounds. Runs are cached nowhere except the peers' (see
bench/peers_quality.py): every wquant row is recomputed.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers_quality as pq  # noqa: E402

REPO = pq.REPO
GGUF = pq.GGUF
MINILM = pq.CACHE / "models" / "minilm"

# (label, wquant flags, methods). "mse-cal" is --method mse with --calibration.
SCHEMES = [
    ("W8 channel sym", ["--bits", "8"], ["rtn", "gptq"]),
    ("W8 channel asym", ["--bits", "8", "--asymmetric"], ["rtn", "gptq", "gptq@32"]),
    ("W4 g128 asym", ["--bits", "4", "--group-size", "128", "--asymmetric"],
     ["rtn", "mse", "mse-cal", "gptq", "awq", "awq-gptq"]),
    # gptq@128: 128 calibration windows, as llm-compressor's GPTQ row beside it.
    ("W4 g128 sym", ["--bits", "4", "--group-size", "128"], ["rtn", "mse", "gptq", "awq", "gptq@128"]),
    ("W4 g32 asym", ["--bits", "4", "--group-size", "32", "--asymmetric"], ["rtn", "gptq"]),
    ("W3 g64 asym", ["--bits", "3", "--group-size", "64", "--asymmetric"], ["rtn", "mse", "gptq"]),
    ("W2 g64 asym", ["--bits", "2", "--group-size", "64", "--asymmetric"], ["rtn", "mse", "gptq"]),
]
# Mixed precision at the file size of each llama.cpp type (its imatrix file, this
# run; the fallback sizes, measured 2026-11-30, when llama.cpp is skipped):
# --target-size with the default --target-schemes, embeddings included.
BUDGETS = {"Q4_K_M": 105.454, "Q3_K_M": 93.510, "Q2_K": 88.202}
# llm-compressor configurations next to each scheme (bench/peers_quality.py names).
# Each keeps its own number of calibration windows (@N): llm-compressor on 2 cores takes
# about an hour for GPTQ on 128 windows and for AWQ on 4 (bench/peers_quality.py), so
# these are the configurations peers_quality.py caches; only their evaluation reruns.
LLMC_FOR = {
    "W4 g128 asym": ["gptq-w4-g128-asym@128"],
    "W4 g128 sym": ["gptq-w4-g128@128", "awq-w4-g128@4", "rtn-w4-g128"],
}
# MiniLM's calibration: its positions stop at 512, so windows of 256 tokens.
MINILM_CALIBRATION = {"windows": 32, "context": 256}
# llama.cpp's files in the same-evaluator table (`wquant eval` reads every GGUF type
# they hold), next to the wquant rows of the same size or group.
LLAMA_FOR = {"W8 channel sym": ["Q8_0"], "W4 g32 asym": ["Q4_0"], **{f"size of {t}": [t] for t in BUDGETS}}
# What llama.cpp's types are, in the table's words (the K-quants mix several).
LLAMA_SCHEME = {"Q8_0": "W8 g32 sym", "Q4_0": "W4 g32 sym"}
MINILM_SCHEMES = [("W4 g32 sym", ["--bits", "4", "--group-size", "32"]),
                  ("W3 g32 asym", ["--bits", "3", "--group-size", "32", "--asymmetric"])]


def run_json(cmd: list) -> tuple[dict, float, float]:
    """Runs cmd (JSON on stdout); returns (parsed, wall s, peak RSS MB of the process)."""
    r = pq.run_timed([str(c) for c in cmd])
    if r["returncode"] != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} exited {r['returncode']}:\n{r['stderr'][-2000:]}")
    return json.loads(r["stdout"]), r["wall_s"], r["peak_rss_mb"]


def budget_schemes(res: dict) -> list:
    """SCHEMES-like entries for BUDGETS, at this run's llama.cpp file sizes if it has them."""
    rows = res["peers"].get("llama_cpp", {}).get("rows", [])
    out = []
    for qtype, fallback in BUDGETS.items():
        peer = next((r for r in rows if r.get("type") == qtype and r.get("imatrix") and r.get("file_mb")), None)
        mb = peer["file_mb"] if peer else fallback
        out.append((f"size of {qtype}", ["--target-size", f"{mb:.3f}"], ["gptq"]))
    return out


def wquant_rows(wquant: Path, a, tmp: Path, schemes: list, rows: list, save) -> list[dict]:
    """Appends a row to `rows` per scheme and method, calling save() after each."""
    for label, flags, methods in schemes:
        if a.schemes and label not in a.schemes:
            continue
        for method in methods:
            if any(r["scheme"] == label and r["method"] == method for r in rows):
                continue  # kept from the run --resume continues
            out = tmp / "out"
            name, _, n = method.partition("@")
            windows = int(n) if n else a.windows
            cmd = [wquant, "quantize", GGUF, "-o", out, "--force", "--json", "--no-progress", *flags]
            cmd += ["--method", name.removesuffix("-cal")]
            if name in ("gptq", "mse-cal", "awq", "awq-gptq"):
                cmd += ["--calibration", a.calibration_text, "--calibration-tokens",
                        str(windows * a.context), "--calibration-context", str(a.context)]
            pq.log("wquant", label, method)
            report, wall, rss = run_json(cmd)
            ev = pq.wquant_eval(wquant, out, a.eval_text, a.context, a.eval_chunks)
            errors = [l["output_error"] for l in report["layers"] if l.get("output_error") is not None]
            rows.append({"scheme": label, "method": method, "file_mb": pq.file_mb(out / "model.safetensors"),
                         "quantize_s": wall, "peak_rss_mb": rss,
                         "median_output_error": statistics.median(errors) if errors else None,
                         "calibration": report.get("recipe", {}).get("calibration"),
                         "chosen": report.get("recipe", {}).get("target_size", {}).get("chosen"),
                         **ev, "quantize_command": " ".join(map(str, cmd[1:]))})
            save()
    return rows


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def minilm_rows(wquant: Path, a, tmp: Path) -> list[dict]:
    verses = a.eval_text.read_text().splitlines()[::5][:300]
    sentences = tmp / "verses.txt"
    sentences.write_text("\n".join(verses) + "\n")
    ref, _, _ = run_json([wquant, "embed", MINILM, "--file", sentences, "--json"])
    cal = MINILM_CALIBRATION
    cal_flags = ["--calibration", a.calibration_text, "--calibration-tokens", str(cal["windows"] * cal["context"]),
                 "--calibration-context", str(cal["context"])]
    rows = []
    for label, flags in MINILM_SCHEMES:
        for method in ("rtn", "mse", "mse-cal", "gptq"):
            out = tmp / "minilm"
            cmd = [wquant, "quantize", MINILM, "-o", out, "--force", "--json", "--no-progress", *flags,
                   "--method", method.removesuffix("-cal"), *(cal_flags if method in ("mse-cal", "gptq") else [])]
            pq.log("wquant minilm", label, method)
            _, wall, rss = run_json(cmd)
            q, _, _ = run_json([wquant, "embed", out, "--file", sentences, "--json"])
            cos = [cosine(x["embedding"], y["embedding"]) for x, y in zip(q["embeddings"], ref["embeddings"])]
            rows.append({"scheme": label, "method": method, "cos_min": min(cos),
                         "cos_mean": statistics.fmean(cos), "quantize_s": wall, "peak_rss_mb": rss})
    return rows


def llama_rows(res: dict, qtype: str) -> list[dict]:
    """llama.cpp's rows of one type (without, then with the importance matrix)."""
    return [r for r in res["peers"].get("llama_cpp", {}).get("rows", []) if r.get("type") == qtype]


def llmc_rows(res: dict) -> dict:
    """llm-compressor's rows by configuration name, with and without "@windows"."""
    out = {}
    for r in res["peers"].get("llmcompressor", {}).get("rows", []):
        out[r["config"]] = r
        if r.get("windows"):
            out[f"{r['config']}@{r['windows']}"] = r
    return out


def goals(res: dict):
    """Prints issue 9's goals that this run measures, met or not, with the figures."""
    def row(scheme, method):
        return next((r for r in res["wquant"] if r["scheme"] == scheme and r["method"] == method), None)
    def kld(scheme, method):
        r = row(scheme, method)
        return r.get("kld") if r else None
    lines = []
    rtn = kld("W4 g128 asym", "rtn")
    best = min(filter(None, [kld(sc, m) for sc in ("W4 g128 asym", "W4 g128 sym")
                             for m in ("gptq", "gptq@128", "awq", "awq-gptq")]), default=None)
    if rtn and best:
        lines.append(f"W4 g128: best calibrated KLD {best:.4f} = {best / rtn:.2f}x RTN's {rtn:.4f} (asym; goal <= 0.5x): "
                     + ("met" if best <= 0.5 * rtn else "missed"))
    llmc = llmc_rows(res)
    ours = row("W4 g128 sym", "gptq@128")
    for name in ("gptq-w4-g128@128", "awq-w4-g128@4"):
        peer = llmc.get(name)
        if ours and peer and peer.get("kld") is not None and ours.get("kld") is not None:
            lines.append(f"W4 g128 sym: wquant GPTQ (128 windows) KLD {ours['kld']:.4f} vs llm-compressor {name} "
                         f"{peer['kld']:.4f} (same evaluator): " + ("met" if ours["kld"] <= peer["kld"] else "missed"))
            if name.startswith("gptq") and peer.get("process_s") and peer.get("peak_rss_mb"):
                t_ok = ours["quantize_s"] <= 0.5 * peer["process_s"]
                m_ok = ours["peak_rss_mb"] < peer["peak_rss_mb"]
                lines.append(f"GPTQ time {ours['quantize_s']:.0f} s vs llm-compressor {peer['process_s']:.0f} s "
                             f"(goal <= half): {'met' if t_ok else 'missed'}; peak RSS {ours['peak_rss_mb']:.0f} MB "
                             f"vs {peer['peak_rss_mb']:.0f} MB (goal lower): {'met' if m_ok else 'missed'}")
    ours, peer = row("W4 g128 sym", "awq"), llmc.get("awq-w4-g128@4")
    if ours and peer and ours.get("kld") is not None and peer.get("kld") is not None:
        lines.append(f"W4 g128 sym, AWQ against AWQ: wquant awq ({res['windows']} windows) KLD {ours['kld']:.4f} vs "
                     f"llm-compressor awq-w4-g128@4 {peer['kld']:.4f} (same evaluator): "
                     + ("met" if ours["kld"] <= peer["kld"] else "missed"))
    w8 = [(kld(sc, m), f"{sc} {m}") for sc in ("W8 channel sym", "W8 channel asym") for m in ("gptq", "gptq@32")
          if kld(sc, m) is not None]
    if w8:
        best, which = min(w8)
        q8 = next((r for r in llama_rows(res, "Q8_0") if not r.get("imatrix")), None)
        q8_kld = ((q8 or {}).get("wquant_eval") or {}).get("kld")
        rtn = min(filter(None, [kld("W8 channel sym", "rtn"), kld("W8 channel asym", "rtn")]), default=None)
        lines.append(f"W8 channel GPTQ: best KLD {best:.4f} ({which}; goal <= 0.002): " + (
            "met" if best <= 0.002 else f"missed by {best - 0.002:.4f}")
            + f". RTN per channel: {f(rtn, 4)}; llama.cpp's Q8_0 (groups of 32, the embedding quantized too): "
            + f"{f(q8_kld, 4)} in the same evaluator. What is left is the per-channel grid's: one scale per row "
            f"of up to 1536 weights, set by its largest weight (asym GPTQ on {res['windows']} windows "
            + f"{f(kld('W8 channel asym', 'gptq'), 4)}, on 32: {f(kld('W8 channel asym', 'gptq@32'), 4)})")
    for qtype in BUDGETS:
        peer = next((r for r in llama_rows(res, qtype) if r.get("imatrix")), None)
        ours = row(f"size of {qtype}", "gptq")
        if not (peer and ours and ours.get("kld") is not None):
            continue
        same = (peer.get("wquant_eval") or {}).get("kld")
        theirs = same if same is not None else peer.get("kld")
        if theirs is None:
            continue
        ok = ours["kld"] <= theirs and ours["file_mb"] <= peer["file_mb"]
        where = ("both by wquant eval" if same is not None else
                 "theirs by llama-perplexity: the evaluators differ, see above")
        beside = f"; llama-perplexity gives theirs {peer['kld']:.4f}" if same is not None and peer.get("kld") else ""
        lines.append(f"{qtype} + imatrix {peer['file_mb']:.2f} MB, KLD {theirs:.4f} vs wquant --target-size "
                     f"{ours['file_mb']:.2f} MB, KLD {ours['kld']:.4f} ({where}{beside}): "
                     + ("met" if ok else "missed") + " (goal: no larger, KLD no worse)")
    if lines:
        print("\n**Goals (issue 9) this run measures:**\n")
        for line in lines:
            print(f"* {line}")


def f(x, d=3):
    return "n/a" if x is None else f"{x:.{d}f}"


def print_doc(res: dict):
    p = res["peers"]
    print("# Calibrated quantization: quality side by side\n")
    print(f"Generated {res['date']} at commit {res['git']} on {res['machine']} by "
          f"`{res['command']}` ({res['elapsed_s'] / 60:.0f} min; 1-minute load average "
          f"{res['load'][0]:.1f} before, {res['load'][1]:.1f} after: above 2, other work shared "
          "the machine and every time is an upper bound).\n")
    print(f"* **Model**: SmolLM2-135M-Instruct; its float weights are the Q4_1 GGUF dequantized, "
          "so they lie on a 4-bit grid with a float minimum per 32 values: formats with a minimum "
          "and groups of 32 (W4 g32 asym, Q4_K) have an edge here that they would not have on a "
          "float checkpoint.")
    print(f"* **Calibration** (wquant, llm-compressor, llama-imatrix): `{Path(res['calibration_text']).name}` "
          f"(the Gospels, Matthew to John, KJV), the first {res['windows']} windows of "
          f"{res['context']} tokens.")
    print(f"* **Evaluation**: `{Path(res['eval_text']).name}` (Genesis, KJV), {res['eval_chunks']} "
          f"windows of {res['context']} tokens. wquant rows and llm-compressor rows: `wquant eval "
          "OUT --reference SmolLM2.gguf` (every token of each window after the first, f32 "
          "activations). llama.cpp rows: `llama-perplexity --kl-divergence` against the F32 GGUF "
          "(a BOS per window, the second half of each window scored, activations rounded to 8 bits "
          "in quantized products); they are also evaluated by `wquant eval` in the first table: "
          "compare within one evaluator.")
    print("* **KLD**: mean KL(float || quantized) of the next-token distributions, nats. "
          "**out err**: median over layers of ||(W - Q) X|| / ||W X|| on the calibration inputs "
          "(wquant's report).\n")
    print("## wquant, llm-compressor and llama.cpp (same evaluator: wquant eval)\n")
    print("| scheme | system | method | file MB | KLD | PPL | top-1 | out err | quantize s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    fl = p.get("float", {}).get("wquant_eval", {})
    print(f"| float | - | - | {f(p.get('float', {}).get('hf_f32_mb'), 1)} | 0 | {f(fl.get('ppl'))} | 1 | | | |")
    llmc = llmc_rows(res)
    labels = list(dict.fromkeys([label for label, _, _ in SCHEMES] + [r["scheme"] for r in res["wquant"]]))
    for label in labels:
        for r in (x for x in res["wquant"] if x["scheme"] == label):
            print(f"| {label} | wquant | {r['method']} | {f(r['file_mb'], 1)} | {f(r.get('kld'), 4)} | "
                  f"{f(r.get('ppl'))} | {f(r.get('top1'))} | {f(r['median_output_error'], 4)} | "
                  f"{f(r['quantize_s'], 1)} | {f(r['peak_rss_mb'], 0)} |")
        for name in LLMC_FOR.get(label, []):
            r = llmc.get(name)
            if r is None:
                continue
            if "error" in r:
                print(f"| {label} | llm-compressor | {name} | | | | | | | | {r['error'][:120]} |")
                continue
            print(f"| {label} | llm-compressor | {name} | {f(r.get('file_mb'), 1)} | {f(r.get('kld'), 4)} | "
                  f"{f(r.get('ppl'))} | {f(r.get('top1'))} | | {f(r.get('process_s'), 1)} | "
                  f"{f(r.get('peak_rss_mb'), 0)} |")
        for qtype in LLAMA_FOR.get(label, []):
            for r in llama_rows(res, qtype):
                ev = r.get("wquant_eval") or {}
                print(f"| {LLAMA_SCHEME.get(qtype, label)} | llama.cpp | {qtype}{' + imatrix' if r.get('imatrix') else ''} | "
                      f"{f(r.get('file_mb'), 1)} | {f(ev.get('kld'), 4)} | {f(ev.get('ppl'))} | "
                      f"{f(ev.get('top1'))} | | {f(r.get('quantize_s'), 1)} | {f(r.get('quantize_rss_mb'), 0)} |")
    sized = [r for r in res["wquant"] if r.get("chosen")]
    if sized:
        print("\nThe size rows (`--target-size MB`, the default `--target-schemes`) chose, layers per scheme:\n")
        for r in sized:
            print(f"* {r['scheme']}: " + ", ".join(f"{k} {v}" for k, v in sorted(r["chosen"].items())))
    goals(res)
    lc = p.get("llama_cpp")
    if lc:
        print("\n## llama.cpp by its own evaluator (llama-perplexity --kl-divergence), and by wquant eval\n")
        print("| type | importance matrix | file MB | KLD | PPL | top-1 | wquant eval KLD |")
        print("|---|---|---|---|---|---|---|")
        for r in lc.get("rows", []):
            cross = r.get("wquant_eval") or {}
            print(f"| {r.get('type')} | {'yes' if r.get('imatrix') else 'no'} | {f(r.get('file_mb'), 1)} | "
                  f"{f(r.get('kld'), 4)} | {f(r.get('ppl'))} | {f(r.get('top1'))} | "
                  f"{f(cross.get('kld'), 4) if 'kld' in cross else '-'} |")
    cal = res.get("minilm_calibration", MINILM_CALIBRATION)
    print("\n## all-MiniLM-L6-v2: cosine of quantized to float embeddings (300 Genesis verses)\n")
    print(f"mse-cal and gptq calibrate on {Path(res['calibration_text']).name}, the first {cal['windows']} "
          f"windows of {cal['context']} tokens (MiniLM's own tokenizer).\n")
    print("| scheme | method | cosine min | cosine mean | quantize s |")
    print("|---|---|---|---|---|")
    for r in res["minilm"]:
        print(f"| {r['scheme']} | {r['method']} | {r['cos_min']:.5f} | {r['cos_mean']:.5f} | "
              f"{f(r.get('quantize_s'), 1)} |")
    print("\nCommands of the wquant rows (`wquant quantize SmolLM2.gguf ...`, then "
          f"`wquant eval OUT --reference SmolLM2.gguf --text genesis.txt --context {res['context']} "
          f"--chunks {res['eval_chunks']}`):\n")
    print("```")
    for r in res["wquant"]:
        cmd = re.sub(r"-o \S+", "-o OUT", r["quantize_command"].replace(str(GGUF), "SmolLM2.gguf"))
        print("wquant " + cmd.replace(str(res["calibration_text"]), Path(res["calibration_text"]).name))
    print("```")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--windows", type=int, default=32, help="calibration windows (all systems)")
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--eval-chunks", type=int, default=40)
    ap.add_argument("--calibration-text", type=Path, default=pq.CALIB_TEXT)
    ap.add_argument("--eval-text", type=Path, default=pq.EVAL_TEXT)
    ap.add_argument("--skip", default="", help="comma-separated: llama, llmc, wquant, minilm")
    ap.add_argument("--schemes", type=lambda v: [x.strip() for x in v.split(",")], default=[],
                    help="comma-separated scheme labels to run (default: all), e.g. 'W4 g128 asym'")
    ap.add_argument("--json", type=Path, default=pq.BENCH / "calibration_quality.json")
    ap.add_argument("--render", type=Path, help="print the document of a saved --json run, run nothing")
    ap.add_argument("--resume", action="store_true",
                    help="continue the run saved in --json (cut short): keep its rows, run the missing ones; "
                         "the document names every commit whose binary made rows")
    a = ap.parse_args()
    if a.render:
        return print_doc(json.loads(a.render.read_text()))
    skip = set(filter(None, a.skip.split(",")))
    started, load_before = time.time(), os.getloadavg()[0]
    pq.BENCH.mkdir(parents=True, exist_ok=True)
    wquant = pq.BENCH / "wquant-calibration-snapshot"
    subprocess.run(["cp", str(pq.WQUANT), str(wquant)], check=True)
    res = {"command": "bench/calibration_quality.py " + " ".join(sys.argv[1:]),
           "date": datetime.date.today().isoformat(), "git": pq.e2e.git_state(),
           "machine": pq.e2e.machine(), "windows": a.windows, "context": a.context,
           "eval_chunks": a.eval_chunks, "calibration_text": str(a.calibration_text),
           "eval_text": str(a.eval_text), "peers": {}, "wquant": [], "minilm": [],
           "minilm_calibration": MINILM_CALIBRATION}
    prior_s = 0.0
    if a.resume:
        saved = json.loads(a.json.read_text())
        for key in ("windows", "context", "eval_chunks", "calibration_text", "eval_text"):
            if saved.get(key) != res[key]:
                raise SystemExit(f"--resume: {a.json} has {key} {saved.get(key)!r}, this run {res[key]!r}")
        if saved["git"] != res["git"]:
            saved["git"] = f"{saved['git']} (resumed at {res['git']})"
        saved["command"] += " (cut short, then continued with --resume)"
        prior_s, load_before, res = saved.get("elapsed_s", 0.0), saved.get("load", [load_before])[0], saved
        done = {(r["scheme"], r["method"]) for r in res["wquant"]}
        skip |= {k for k, v in (("llama", res["peers"].get("llama_cpp")), ("minilm", res["minilm"]),
                                ("llmc", res["peers"].get("llmcompressor"))) if v}
        pq.log("resume", f"{len(done)} wquant rows kept; skipping {sorted(skip)}")
    llama = pq.e2e.fetch_peers()
    paths = pq.prepare_float(llama)
    if "float" not in res["peers"]:
        res["peers"]["float"] = {"hf_f32_mb": pq.file_mb(paths["hf_f32"]),
                                 "wquant_eval": pq.wquant_eval(wquant, GGUF, a.eval_text, a.context, a.eval_chunks)}
    if "llama" not in skip:  # first: its file sizes are the budgets of the size rows
        res["peers"]["llama_cpp"] = pq.run_llama_cpp(
            llama, paths["f32_gguf"], calib_text=a.calibration_text, eval_text=a.eval_text,
            windows=a.windows, context=a.context, eval_chunks=a.eval_chunks, cross_eval_wquant=wquant,
            types=list(dict.fromkeys(pq.LLAMA_TYPES + ["Q8_0"])))
    def save():  # after each step: a run cut short keeps what it measured (--render shows it)
        res["elapsed_s"] = prior_s + time.time() - started
        res["load"] = (load_before, os.getloadavg()[0])
        a.json.write_text(json.dumps(res, indent=1, default=str))
    save()
    with tempfile.TemporaryDirectory() as tmp:
        if "wquant" not in skip:
            wquant_rows(wquant, a, Path(tmp), SCHEMES + budget_schemes(res), res["wquant"], save)
        if "minilm" not in skip:
            res["minilm"] = minilm_rows(wquant, a, Path(tmp))
            save()
    if "llmc" not in skip:
        configs = [c for label, cs in LLMC_FOR.items() if not a.schemes or label in a.schemes for c in cs]
        res["peers"]["llmcompressor"] = {"rows": pq.run_llmcompressor(
            pq.fetch_llmcompressor(), paths["hf_f32"], configs, calib_text=a.calibration_text,
            eval_text=a.eval_text, windows=a.windows, context=a.context, eval_chunks=a.eval_chunks,
            wquant=wquant)}
    save()
    print_doc(res)


if __name__ == "__main__":
    main()
