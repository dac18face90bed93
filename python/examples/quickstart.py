"""The seeds' workflow with wquant alone (no PyTorch): quantize a model with
an exclude list, compare the footprint before and after, generate.

    python quickstart.py [MODEL]   (default: SmolLM2-135M-Instruct from scripts/fetch_models.sh)
"""
import os, sys, tempfile, time
import wquant

model = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser(
    "~/.cache/wquant/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
out = os.path.join(tempfile.mkdtemp(), "smollm2-w8")

report = wquant.quantize_checkpoint(model, out, bits=8, exclude=["lm_head"])   # int8 weights, lm_head float
print(f"footprint: {report.bytes_before / 1e6:.1f} MB -> {report.bytes_after / 1e6:.1f} MB "
      f"({report.compression_ratio:.2f}x), {len(report.layers)} layers quantized")

lm = wquant.load(out)
start = time.perf_counter()
pieces = list(lm.generate("What is the capital of France?", max_new_tokens=32, chat=True))
print("".join(pieces))
print(f"{len(pieces)} pieces in {time.perf_counter() - start:.2f} s")
