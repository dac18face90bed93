#!/usr/bin/env python3
"""Regenerates docs/QUALITY.md: what quantization costs in output quality.

* SmolLM2-135M-Instruct (GGUF): perplexity on the book of Genesis (Debian's
  bible-kjv, scripts/fetch_text.sh) in float and quantized W8 / W4 / W2, and
  against float the mean KL divergence, top-1 agreement and delta perplexity,
  from `wquant eval --json`.
* all-MiniLM-L6-v2: cosine similarity of quantized to float sentence
  embeddings of Genesis verses, from `wquant embed --file --json`.

Each run's wall time (the whole process, model loading included) and peak
RSS are reported too. The runs take about 6 minutes of CPU time on 2 cores
(more wall time when other work shares the machine).

Usage: python3 tools/quality_figures.py [BUILD_DIR] > docs/QUALITY.md
"""
import datetime
import json
import math
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build")
CACHE = pathlib.Path(os.environ.get("WQUANT_CACHE", pathlib.Path.home() / ".cache" / "wquant"))
SMOLLM2 = CACHE / "models" / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM = CACHE / "models" / "minilm"
TEXT = CACHE / "text" / "genesis.txt"

# Perplexity: CHUNKS windows of CONTEXT tokens from the start of the text,
# each scored on its own (CONTEXT - 1 predictions per window).
CONTEXT, CHUNKS = 256, 16
# Embeddings: every VERSE_STEP-th verse of Genesis, VERSES of them.
VERSES, VERSE_STEP = 300, 5

SCHEMES = [("W8 per-channel sym", ["--bits", "8", "--per-channel"]),
           ("W4 g128 asym", ["--bits", "4", "--group-size", "128", "--asymmetric"]),
           ("W2 g64 asym", ["--bits", "2", "--group-size", "64", "--asymmetric"])]


def wquant(*args):
    """Runs build/wquant with args; returns (parsed JSON stdout, wall seconds)."""
    cmd = [str(BUILD / "wquant"), *map(str, args)]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}")
    return json.loads(proc.stdout), seconds


def machine():
    cpu = platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def commit():
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()


def smollm2_rows(tmp):
    float_run, float_s = wquant("eval", SMOLLM2, "--text", TEXT, "--context", CONTEXT,
                                "--chunks", CHUNKS, "--json")
    rows = [f"| float (GGUF Q4_1 dequantized to f32) | {float_run['perplexity']:.4f} | - | - | - | "
            f"{float_s:.1f} | {float_run['peak_rss_mb']:.0f} |"]
    for name, flags in SCHEMES:
        out = tmp / "smollm2"
        wquant("quantize", SMOLLM2, "-o", out, "--force", "--json", *flags)
        r, s = wquant("eval", out, "--tokenizer", SMOLLM2, "--reference", SMOLLM2,
                      "--text", TEXT, "--context", CONTEXT, "--chunks", CHUNKS, "--json")
        assert abs(r["reference_perplexity"] - float_run["perplexity"]) < 1e-9 * float_run["perplexity"]
        rows.append(f"| {name} | {r['perplexity']:.4f} | {r['delta_perplexity']:+.4f} "
                    f"({100 * r['delta_perplexity'] / r['reference_perplexity']:+.1f}%) | "
                    f"{r['mean_kl']:.4f} | {100 * r['top1_agreement']:.1f}% | {s:.1f} | "
                    f"{r['peak_rss_mb']:.0f} |")
    return float_run, rows


def embeddings(model, sentences_file):
    """Returns (embeddings: one list of floats per sentence, token counts, wall s, peak RSS MB)."""
    j, s = wquant("embed", model, "--file", sentences_file, "--json")
    return ([e["embedding"] for e in j["embeddings"]], [e["tokens"] for e in j["embeddings"]], s,
            j["peak_rss_mb"])


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def minilm_rows(tmp):
    verses = TEXT.read_text().splitlines()[::VERSE_STEP][:VERSES]
    assert len(verses) == VERSES
    sentences = tmp / "verses.txt"
    sentences.write_text("\n".join(verses) + "\n")
    ref, tokens, float_s, float_rss = embeddings(MINILM, sentences)
    rows = [f"| float (f32) | 1 | 1 | 1 | {float_s:.1f} | {float_rss:.0f} |"]
    for name, flags in SCHEMES:
        out = tmp / "minilm"
        wquant("quantize", MINILM, "-o", out, "--force", "--json", *flags)
        q, _, s, rss = embeddings(out, sentences)
        cos = [cosine(a, b) for a, b in zip(q, ref)]
        rows.append(f"| {name} | {min(cos):.5f} | {statistics.fmean(cos):.5f} | "
                    f"{statistics.median(cos):.5f} | "
                    f"{s:.1f} | {rss:.0f} |")
    return tokens, rows


def main():
    for path in (BUILD / "wquant", SMOLLM2, MINILM, TEXT):
        if not path.exists():
            sys.exit(f"{path} missing (build, then scripts/fetch_models.sh and scripts/fetch_text.sh)")
    # The commit is read before the runs: in a shared checkout HEAD may move meanwhile.
    source, start, load_before = commit(), time.monotonic(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        float_run, lm_rows = smollm2_rows(pathlib.Path(tmp))
        tokens, emb_rows = minilm_rows(pathlib.Path(tmp))
    total, load_after = time.monotonic() - start, os.getloadavg()[0]

    print("# Quality figures\n")
    print(f"Generated {datetime.date.today()} at commit {source} on {machine()}, "
          f"by `python3 tools/quality_figures.py [BUILD_DIR] > docs/QUALITY.md` "
          f"({total / 60:.1f} min; 1-minute load average {load_before:.1f} before and "
          f"{load_after:.1f} after: where it exceeds the cores, other work shared the machine "
          f"and the times are upper bounds). Text: the book of Genesis from Debian's `bible-kjv` "
          f"(King James Version, one verse per line; `scripts/fetch_text.sh`). "
          "Quantization costs of the same schemes (SQNR, footprint) are in "
          "[QUANTIZE_FIGURES.md](QUANTIZE_FIGURES.md).\n")

    print("## SmolLM2-135M-Instruct: perplexity, KL divergence, top-1 agreement\n")
    print(f"Model: `SmolLM2-135M-Instruct.Q4_1.gguf`, evaluated in f32 (the float row) and "
          f"quantized from it with `wquant quantize`. Genesis is {float_run['text_tokens']} tokens "
          f"with the GGUF's tokenizer; the first {float_run['chunks']} windows of {CONTEXT} "
          f"tokens are scored, each on its own from an empty cache: "
          f"{float_run['scored_tokens']} predictions. The float reference is the GGUF's Q4_1 "
          "weights (4 bits, one scale and minimum per block of 32) dequantized, so the W4 row "
          "re-rounds weights already on a 4-bit grid onto a coarser one (groups of 128 or 96).\n")
    print("| scheme | perplexity | delta perplexity vs float | mean KL vs float (nats) | "
          "top-1 agreement | time s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(lm_rows))
    print("\n* **perplexity**: exp of the mean negative log-likelihood of each next token.")
    print("* **delta perplexity**: quantized minus float perplexity, on the same windows.")
    print("* **mean KL**: KL(float || quantized) of the next-token distributions over the whole "
          "vocabulary, averaged over the predictions (llama.cpp's `perplexity --kl-divergence`).")
    print("* **top-1 agreement**: share of predictions where both models' most likely next token "
          "is the same.")
    print("* **time**: wall time of the whole `wquant eval` process (loading, tokenizing, the "
          "windows); a quantized row runs the float reference in the same process, so it does "
          "about twice the float row's work. **peak RSS**: of that process (both models for the "
          "quantized rows).\n")
    print("Commands (OUT from `wquant quantize SmolLM2.gguf -o OUT FLAGS`):\n")
    print("```")
    print(f"wquant eval SmolLM2.gguf --text genesis.txt --context {CONTEXT} --chunks {CHUNKS} --json")
    print(f"wquant eval OUT --tokenizer SmolLM2.gguf --reference SmolLM2.gguf --text genesis.txt "
          f"--context {CONTEXT} --chunks {CHUNKS} --json")
    print("```\n")

    print("## all-MiniLM-L6-v2: cosine similarity of quantized to float embeddings\n")
    print(f"Sentences: {VERSES} verses of Genesis (every {VERSE_STEP}th line, "
          f"{min(tokens)} to {max(tokens)} tokens, {sum(tokens)} in all with [CLS] and [SEP]), "
          "embedded as sentence-transformers does (mean pooled, L2-normalised). Per sentence, "
          "the cosine between the quantized and the float model's embedding; min, mean and "
          "median over the sentences.\n")
    print("| scheme | cosine min | cosine mean | cosine median | time s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    print("\n".join(emb_rows))
    print(f"\n* **time**: wall time of one `wquant embed MODEL --file verses.txt --json` process "
          f"embedding all {VERSES} sentences one at a time (loading included). **peak RSS**: of "
          "that process.\n")
    print("Schemes: " + "; ".join(f"{n}: `{' '.join(f)}`" for n, f in SCHEMES) +
          ". MiniLM's 384 and 1536 input features are multiples of 128 and 64; SmolLM2's 576 is "
          "not a multiple of 128, so its W4 layers with 576 inputs use groups of 96 "
          "(README, `--group-size`).")


if __name__ == "__main__":
    main()
