"""Bad inputs through the CLI: every corrupt checkpoint, bad config, bad
output path and bad option must end in exactly one "wquant: error: ..." line
on stderr naming the file (and tensor) and the problem, exit code 1, no
crash or hang, nothing left at the output path or beside it, and the input
files byte for byte unchanged.

The corrupt inputs are built in tmp_path: small safetensors files written by
hand or with safetensors.numpy, cut-down copies of the real MiniLM and
SmolLM2 checkpoints, and tiny GGUF files written with the `gguf` package.
"""
import hashlib
import json
import os
import pathlib
import resource
import shutil
import signal
import struct
import subprocess

import numpy as np
import pytest
from safetensors.numpy import save_file

from conftest import run

TIMEOUT_S = 60
SMALL_CONFIG = {"model_type": "bert"}


# ---------------------------------------------------------------- helpers


def snapshot(*roots):
    """Returns {path: sha256} for every file under roots (files or dirs), and
    the set of directories, so a test can tell the inputs were not touched."""
    files, dirs = {}, set()
    for root in map(pathlib.Path, roots):
        paths = [root] if root.is_file() else sorted(root.rglob("*"))
        for p in paths:
            if p.is_dir():
                dirs.add(str(p))
            else:
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 22), b""):
                        h.update(chunk)
                files[str(p)] = h.hexdigest()
    return files, dirs


def leftovers(out: pathlib.Path):
    """Returns the temp or set-aside siblings wquant may have left beside out."""
    return sorted(str(p) for pattern in (".wquant-tmp-*", ".wquant-old-*")
                  for p in out.parent.glob(out.name + pattern))


def expect_error(wquant_bin, args, *, inputs, out=None, out_existed=False, contains=(),
                 preexec_fn=None):
    """Runs wquant with args and checks the failure contract. inputs: the
    files/dirs that must not change. out: the -o path, which must not exist
    afterwards (or, if out_existed, must be unchanged - pass it in inputs).
    contains: strings the error line must hold. Returns the error line."""
    before = snapshot(*inputs)
    proc = subprocess.run([str(wquant_bin), *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT_S, preexec_fn=preexec_fn)
    where = f"wquant {' '.join(map(str, args))}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {where}"
    assert "internal error" not in proc.stderr, where
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line: {where}"
    line = lines[0]
    assert line.startswith("wquant: error: "), where
    assert proc.returncode == 1, where
    assert proc.stdout == "", where
    for text in contains:
        assert text in line, f"{text!r} not in the error line: {where}"
    if out is not None:
        if not out_existed:
            assert not os.path.lexists(out), f"{out} left behind: {where}"
        assert leftovers(out) == [], where
    assert snapshot(*inputs) == before, f"inputs changed: {where}"
    return line


def write_small_model(d: pathlib.Path, embed_rows=64) -> pathlib.Path:
    """Writes a tiny valid BERT-like checkpoint directory and returns it:
    two [64, 64] linear layers, a [64] bias and an [embed_rows, 64] embedding."""
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    tensors = {
        "embeddings.word_embeddings.weight": rng.standard_normal((embed_rows, 64), np.float32),
        "encoder.layer.0.attention.self.query.weight": rng.standard_normal((64, 64), np.float32),
        "encoder.layer.0.attention.self.query.bias": rng.standard_normal(64, np.float32),
        "encoder.layer.0.attention.self.key.weight": rng.standard_normal((64, 64), np.float32),
    }
    save_file(tensors, str(d / "model.safetensors"), metadata={"format": "pt"})
    (d / "config.json").write_text(json.dumps(SMALL_CONFIG))
    return d


def write_raw_safetensors(path: pathlib.Path, header, data: bytes = b"", header_len=None):
    """Writes a safetensors file by hand: header is a dict (dumped as JSON) or
    raw bytes; header_len overrides the 8-byte length prefix."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(text) if header_len is None else header_len
    path.write_bytes(struct.pack("<Q", n) + text + data)
    return path


def copy_prefix(src: pathlib.Path, dst: pathlib.Path, nbytes: int):
    """Copies the first nbytes of src to dst without reading all of src."""
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        left = nbytes
        while left > 0:
            chunk = fi.read(min(left, 1 << 22))
            assert chunk, f"{src} is shorter than {nbytes} bytes"
            fo.write(chunk)
            left -= len(chunk)
    return dst


def model_dir_with(tmp_path: pathlib.Path, weights_maker) -> pathlib.Path:
    """Returns tmp_path/model with config.json and model.safetensors written
    by weights_maker(path)."""
    d = tmp_path / "model"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(SMALL_CONFIG))
    weights_maker(d / "model.safetensors")
    return d


def cmd_args(command, path, out):
    return ["quantize", path, "-o", out] if command == "quantize" else ["inspect", path]


COMMANDS = ["quantize", "inspect"]


@pytest.fixture
def small_model(tmp_path):
    return write_small_model(tmp_path / "model")


# ------------------------------------------------------------ safetensors


def f32_entry(begin, end, shape=(4,), dtype="F32"):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": [begin, end]}


# Each case: (id, header, data, header_len override, strings the error names).
RAW_SAFETENSORS_CASES = [
    ("invalid_json", b'{"a.weight": {"dtype": "F32", "shape": [4], ', bytes(16), None,
     ["not valid JSON"]),
    ("header_not_object", b"[1, 2, 3]", b"", None, ["header is a JSON array"]),
    ("overlapping_offsets",
     {"a.weight": f32_entry(0, 16), "b.weight": f32_entry(8, 24)}, bytes(24), None,
     ["a.weight", "b.weight", "overlap"]),
    ("offsets_out_of_range", {"a.weight": f32_entry(1000, 1016)}, bytes(16), None,
     ["a.weight", "beyond the data section"]),
    ("offsets_begin_after_end", {"a.weight": f32_entry(16, 0)}, bytes(16), None,
     ["a.weight", "begin 16 > end 0"]),
    ("negative_offset", {"a.weight": f32_entry(-16, 0)}, bytes(16), None,
     ["a.weight", "negative"]),
    ("size_not_dtype_times_shape", {"a.weight": f32_entry(0, 12)}, bytes(16), None,
     ["a.weight", "span 12 bytes", "needs 16"]),
    ("shape_overflows", {"a.weight": f32_entry(0, 16, shape=(1 << 62, 1 << 62))}, bytes(16),
     None, ["a.weight", "overflow"]),
    ("unknown_dtype", {"a.weight": f32_entry(0, 16, dtype="F9")}, bytes(16), None,
     ["a.weight", 'unknown dtype "F9"']),
    ("duplicate_tensor",
     b'{"a.weight": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},'
     b' "a.weight": {"dtype": "F32", "shape": [4], "data_offsets": [16, 32]}}', bytes(32), None,
     ["a.weight", "twice"]),
    ("header_length_past_eof", {"a.weight": f32_entry(0, 16)}, bytes(16), 4096,
     ["header length 4096", "past the end of the file"]),
    ("header_length_oversized", {"a.weight": f32_entry(0, 16)}, bytes(16), 200_000_000,
     ["oversized header", "200000000"]),
    ("header_length_u64_max", {"a.weight": f32_entry(0, 16)}, bytes(16), (1 << 64) - 1,
     ["oversized header"]),
]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", RAW_SAFETENSORS_CASES, ids=[c[0] for c in RAW_SAFETENSORS_CASES])
def test_corrupt_safetensors_header(wquant_bin, tmp_path, command, case):
    _, header, data, header_len, contains = case
    model = model_dir_with(tmp_path, lambda p: write_raw_safetensors(p, header, data, header_len))
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args(command, model, out), inputs=[model], out=out,
                 contains=["model.safetensors", *contains])


@pytest.mark.parametrize("command", COMMANDS)
def test_safetensors_file_given_directly(wquant_bin, tmp_path, command):
    """A bare .safetensors path (no config.json needed) gets the same checks."""
    path = write_raw_safetensors(tmp_path / "w.safetensors", {"a.weight": f32_entry(0, 12)},
                                 bytes(16))
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args(command, path, out), inputs=[path], out=out,
                 contains=[str(path), "a.weight", "needs 16"])


@pytest.mark.parametrize("command", COMMANDS)
def test_empty_safetensors_file(wquant_bin, tmp_path, command):
    model = model_dir_with(tmp_path, lambda p: p.write_bytes(b""))
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args(command, model, out), inputs=[model], out=out,
                 contains=["model.safetensors", "0 bytes", "too short"])


@pytest.mark.parametrize("command", COMMANDS)
def test_safetensors_shorter_than_length_prefix(wquant_bin, tmp_path, command):
    model = model_dir_with(tmp_path, lambda p: p.write_bytes(b"\x10\x00\x00"))
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args(command, model, out), inputs=[model], out=out,
                 contains=["model.safetensors", "3 bytes", "too short"])


def minilm_header_len(minilm_dir):
    with open(minilm_dir / "model.safetensors", "rb") as f:
        return struct.unpack("<Q", f.read(8))[0]


def truncated_minilm(tmp_path, minilm_dir, nbytes):
    """Returns a MiniLM directory whose model.safetensors is cut to nbytes
    (the small side files are copied, the weights only in part)."""
    d = tmp_path / "minilm"
    d.mkdir()
    for f in ("config.json", "vocab.txt", "tokenizer_config.json"):
        shutil.copy(minilm_dir / f, d / f)
    copy_prefix(minilm_dir / "model.safetensors", d / "model.safetensors", nbytes)
    return d


@pytest.mark.parametrize("command", COMMANDS)
def test_safetensors_truncated_mid_data(wquant_bin, tmp_path, minilm_dir, command):
    size = (minilm_dir / "model.safetensors").stat().st_size
    model = truncated_minilm(tmp_path, minilm_dir, size // 2)
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args(command, model, out), inputs=[model], out=out,
                 contains=["model.safetensors", "tensor ", "beyond the data section"])


@pytest.mark.parametrize("command", COMMANDS)
def test_safetensors_truncated_inside_header(wquant_bin, tmp_path, minilm_dir, command):
    n = minilm_header_len(minilm_dir)
    model = truncated_minilm(tmp_path, minilm_dir, 8 + n // 2)
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args(command, model, out), inputs=[model], out=out,
                 contains=["model.safetensors", f"header length {n}", "past the end of the file"])


def write_two_shards(d: pathlib.Path):
    """Writes two valid shards into d and returns the full weight map."""
    rng = np.random.default_rng(1)
    a = {"encoder.layer.0.attention.self.query.weight": rng.standard_normal((64, 64), np.float32)}
    b = {"encoder.layer.0.attention.self.key.weight": rng.standard_normal((64, 64), np.float32)}
    save_file(a, str(d / "model-00001-of-00002.safetensors"))
    save_file(b, str(d / "model-00002-of-00002.safetensors"))
    return {**{k: "model-00001-of-00002.safetensors" for k in a},
            **{k: "model-00002-of-00002.safetensors" for k in b}}


def sharded_model(tmp_path, edit_weight_map):
    d = tmp_path / "model"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(SMALL_CONFIG))
    weight_map = write_two_shards(d)
    edit_weight_map(weight_map)
    (d / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": 32768}, "weight_map": weight_map}))
    return d


@pytest.mark.parametrize("command", COMMANDS)
def test_index_names_missing_shard(wquant_bin, tmp_path, command):
    model = sharded_model(tmp_path, lambda m: m.update(
        {"encoder.layer.0.attention.self.key.weight": "model-00002-of-00003.safetensors"}))
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args(command, model, out), inputs=[model], out=out,
                 contains=["model.safetensors.index.json", "model-00002-of-00003.safetensors",
                           "does not exist"])


@pytest.mark.parametrize("command", COMMANDS)
def test_index_names_tensor_absent_from_shard(wquant_bin, tmp_path, command):
    model = sharded_model(tmp_path, lambda m: m.update(
        {"encoder.layer.5.output.dense.weight": "model-00001-of-00002.safetensors"}))
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args(command, model, out), inputs=[model], out=out,
                 contains=["model.safetensors.index.json", "encoder.layer.5.output.dense.weight",
                           "model-00001-of-00002.safetensors", "does not contain it"])


@pytest.mark.parametrize("command", COMMANDS)
def test_index_escaping_the_directory(wquant_bin, tmp_path, command):
    model = sharded_model(tmp_path, lambda m: m.update(
        {"encoder.layer.0.attention.self.key.weight": "../model-00002-of-00002.safetensors"}))
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args(command, model, out), inputs=[model], out=out,
                 contains=["model.safetensors.index.json", "encoder.layer.0.attention.self.key",
                           "not a file name inside the checkpoint directory"])


# ----------------------------------------------------------------- config


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("config,contains", [
    (None, ["config.json", "missing"]),
    ('{"model_type": "bert",', ["config.json", "invalid JSON"]),
    ('["model_type", "bert"]', ["config.json", "is a JSON array, expected an object"]),
    ("", ["config.json", "invalid JSON"]),
], ids=["missing", "not_json", "json_array", "empty"])
def test_bad_config(wquant_bin, tmp_path, command, config, contains):
    model = write_small_model(tmp_path / "model")
    if config is None:
        (model / "config.json").unlink()
    else:
        (model / "config.json").write_text(config)
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args(command, model, out), inputs=[model], out=out,
                 contains=[str(model / "config.json"), *contains])


# ------------------------------------------------------------------- GGUF


def write_tiny_gguf(path: pathlib.Path, arch: str) -> pathlib.Path:
    """Writes a GGUF with general.architecture = arch and one F32 tensor."""
    from gguf import GGUFWriter

    w = GGUFWriter(str(path), arch)
    w.add_tensor("blk.0.attn_q.weight", np.ones((8, 32), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_gguf_bad_magic(wquant_bin, tmp_path, command):
    path = write_tiny_gguf(tmp_path / "model.gguf", "llama")
    raw = bytearray(path.read_bytes())
    raw[0:4] = b"GGML"
    path.write_bytes(bytes(raw))
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args(command, path, out), inputs=[path], out=out,
                 contains=[str(path), "not a GGUF file", "GGML"])


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("nbytes,contains", [
    (1 << 20, []),
    (50 << 20, ["runs past the end of the file"]),
    (6, ["truncated"]),
], ids=["1MB", "50MB", "6B"])
def test_gguf_truncated(wquant_bin, tmp_path, smollm2_gguf, command, nbytes, contains):
    path = copy_prefix(smollm2_gguf, tmp_path / "smollm2.gguf", nbytes)
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args(command, path, out), inputs=[path], out=out,
                 contains=[str(path), *contains])


@pytest.mark.parametrize("command", COMMANDS)
def test_gguf_tensor_count_absurd(wquant_bin, tmp_path, smollm2_gguf, command):
    path = tmp_path / "smollm2.gguf"
    shutil.copyfile(smollm2_gguf, path)
    with open(path, "r+b") as f:
        f.seek(8)
        f.write(struct.pack("<Q", 1 << 62))
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args(command, path, out), inputs=[path], out=out,
                 contains=[str(path), f"tensor count {1 << 62}", "impossible"])


def test_gguf_unsupported_architecture(wquant_bin, tmp_path):
    path = write_tiny_gguf(tmp_path / "mamba.gguf", "mamba")
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args("quantize", path, out), inputs=[path], out=out,
                 contains=[str(path), "unsupported architecture 'mamba'", "supported:",
                           "llama", "qwen2"])


@pytest.mark.parametrize("json_out", [False, True], ids=["text", "json"])
def test_inspect_lists_a_gguf_it_cannot_translate(wquant_bin, tmp_path, json_out):
    """inspect opens any GGUF that parses (issue 11): another architecture is
    listed with its own tensor names and ggml types, and the note says why it
    is not a checkpoint wquant runs."""
    path = write_tiny_gguf(tmp_path / "mamba.gguf", "mamba")
    before = snapshot(path)
    p = subprocess.run([str(wquant_bin), "inspect", str(path), *(["--json"] if json_out else [])],
                       capture_output=True, text=True, timeout=TIMEOUT_S)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    if json_out:
        j = json.loads(p.stdout)
        assert j["architecture"] == "mamba" and j["format"] == "gguf"
        assert j["tensors"] == [{"name": "blk.0.attn_q.weight", "type": "F32", "shape": [8, 32], "bytes": 1024}]
        assert "unsupported architecture 'mamba'" in j["not_a_checkpoint"]
    else:
        assert "blk.0.attn_q.weight" in p.stdout and "F32" in p.stdout and "[8, 32]" in p.stdout, p.stdout
        assert "architecture  mamba" in p.stdout and "unsupported architecture 'mamba'" in p.stdout
    assert snapshot(path) == before


# ----------------------------------------------------------------- output


@pytest.mark.parametrize("kind", ["missing", "is_a_file"])
def test_output_parent_not_a_directory(wquant_bin, tmp_path, small_model, kind):
    parent = tmp_path / "no_such_dir"
    if kind == "is_a_file":
        parent.write_text("not a directory\n")
    out = parent / "out"
    inputs = [small_model] + ([parent] if kind == "is_a_file" else [])
    expect_error(wquant_bin, ["quantize", small_model, "-o", out], inputs=inputs, out=out,
                 contains=[str(out), str(parent),
                           "does not exist" if kind == "missing" else "not a directory"])
    if kind == "missing":
        assert not parent.exists()


def test_output_exists_without_force(wquant_bin, tmp_path, small_model):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious\n")
    expect_error(wquant_bin, ["quantize", small_model, "-o", out], inputs=[small_model, out],
                 out=out, out_existed=True, contains=[str(out), "already exists"])
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize("force", [False, True], ids=["no_force", "force"])
@pytest.mark.parametrize("target", ["dir", "dir_slash", "weights_file"])
def test_output_is_the_input(wquant_bin, tmp_path, small_model, force, target):
    out = {"dir": str(small_model), "dir_slash": str(small_model) + "/",
           "weights_file": str(small_model / "model.safetensors")}[target]
    args = ["quantize", small_model, "-o", out] + (["--force"] if force else [])
    expect_error(wquant_bin, args, inputs=[small_model], out=pathlib.Path(out.rstrip("/")),
                 out_existed=True, contains=[out])


def test_output_contains_the_input_with_force(wquant_bin, tmp_path):
    work = tmp_path / "work"
    model = write_small_model(work / "model")
    args = ["quantize", model, "-o", work, "--force"]
    expect_error(wquant_bin, args, inputs=[work], out=work, out_existed=True,
                 contains=[str(work), "input"])


def test_output_inside_the_input_keeps_input(wquant_bin, tmp_path, small_model):
    """Writing into a new subdirectory of the input is allowed, and must not
    change the input's files."""
    before = snapshot(small_model / "model.safetensors", small_model / "config.json")
    out = small_model / "quantized"
    proc = subprocess.run([str(wquant_bin), "quantize", str(small_model), "-o", str(out)],
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    assert snapshot(small_model / "model.safetensors", small_model / "config.json") == before


def test_output_parent_read_only(wquant_bin, tmp_path, small_model):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        if os.access(parent, os.W_OK):
            pytest.skip("running as root (or with CAP_DAC_OVERRIDE): a read-only directory "
                        "is still writable")
        out = parent / "out"
        expect_error(wquant_bin, ["quantize", small_model, "-o", out], inputs=[small_model],
                     out=out, contains=[str(out), "not writable"])
    finally:
        parent.chmod(0o755)


def limit_file_size():
    """preexec_fn: files may grow to 1 MiB; writing past it fails with EFBIG
    (SIGXFSZ ignored, which survives exec), as on a full disk."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


@pytest.mark.parametrize("force", [False, True], ids=["new", "force_over_existing"])
def test_output_disk_full(wquant_bin, tmp_path, force):
    # A 4 MiB float embedding, kept unquantized, pushes the output past 1 MiB.
    model = write_small_model(tmp_path / "model", embed_rows=16384)
    out = tmp_path / "out"
    inputs = [model]
    if force:
        out.mkdir()
        (out / "keep.txt").write_text("previous output\n")
        inputs.append(out)
    args = ["quantize", model, "-o", out] + (["--force"] if force else [])
    expect_error(wquant_bin, args, inputs=inputs, out=out, out_existed=force,
                 contains=[str(out), "model.safetensors", "File too large"], preexec_fn=limit_file_size)


# -------------------------------------------------------------- CLI usage


@pytest.mark.parametrize("spec,contains", [
    ("*.intermediate.*=w5", ["--override", "w5"]),
    ("*.intermediate.*=w4-q7", ["w4-q7", "q7"]),
    ("*.intermediate.*", ["--override", "GLOB=SCHEME"]),
], ids=["bits_5", "unknown_token", "no_scheme"])
def test_override_unknown_scheme(wquant_bin, tmp_path, small_model, spec, contains):
    out = tmp_path / "out"
    expect_error(wquant_bin, ["quantize", small_model, "-o", out, "--override", spec],
                 inputs=[small_model], out=out, contains=contains)


def test_include_matches_nothing(wquant_bin, tmp_path, small_model):
    out = tmp_path / "out"
    expect_error(wquant_bin, ["quantize", small_model, "-o", out, "--include", "*.mlp.*"],
                 inputs=[small_model], out=out,
                 contains=["--include", "*.mlp.*", "matches no tensor", str(small_model)])


def test_exclude_matches_nothing_is_a_warning(wquant_bin, tmp_path, small_model):
    """`--exclude lm_head` on a model without one (tied embeddings) is what the
    seeds' users type: harmless, so one warning line and a normal run."""
    out = tmp_path / "out"
    proc = run([wquant_bin, "quantize", small_model, "-o", out, "--exclude", "*.mlp.*"])
    assert proc.stderr.strip().splitlines() == [
        f"wquant: warning: --exclude *.mlp.*: matches no tensor in {small_model}"]
    assert (out / "model.safetensors").is_file()


def test_group_size_larger_than_layer(wquant_bin, tmp_path, small_model):
    out = tmp_path / "out"
    expect_error(wquant_bin, ["quantize", small_model, "-o", out, "--group-size", "128",
                              "--bits", "4"],
                 inputs=[small_model], out=out,
                 contains=["encoder.layer.0.attention.self.", "group size 128",
                           "64 input features"])


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", ["no_such_model", "no_such_model.gguf",
                                  "no_such.safetensors"])
def test_nonexistent_input(wquant_bin, tmp_path, command, name):
    path = tmp_path / name
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args(command, path, out), inputs=[tmp_path], out=out,
                 contains=[str(path), "does not exist"])


@pytest.mark.parametrize("command", COMMANDS)
def test_directory_without_weights(wquant_bin, tmp_path, command):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps(SMALL_CONFIG))
    out = tmp_path / "out"
    expect_error(wquant_bin, cmd_args(command, model, out), inputs=[model], out=out,
                 contains=[str(model), "no model.safetensors"])


def test_already_quantized_input_is_refused(wquant_bin, tmp_path, small_model):
    first = tmp_path / "w8"
    run([wquant_bin, "quantize", small_model, "-o", first])
    out = tmp_path / "again"
    expect_error(wquant_bin, ["quantize", first, "-o", out], inputs=[first], out=out,
                 contains=[str(first), "already quantized"])


# Numbers in config.json are range-checked before any narrowing (a double
# beyond int64 converted to an integer is undefined behaviour; 4294967297
# read as int32 would become 1). The real MiniLM directory, one key changed.
@pytest.mark.parametrize("key,value,contains", [
    ("hidden_size", 1e300, "config key 'hidden_size' is 1e+300, expected an integer in [1, 2147483647]"),
    ("num_attention_heads", 4294967297, "config key 'num_attention_heads' is 4294967297, expected an integer"),
    ("num_hidden_layers", 2.5, "config key 'num_hidden_layers' is 2.5, expected an integer"),
    ("layer_norm_eps", 1e300, "config key 'layer_norm_eps' is 1e+300, expected a finite number"),
    ("type_vocab_size", -2, "config key 'type_vocab_size' is -2, expected an integer in [1, 2147483647]"),
], ids=["huge_float", "beyond_int32", "fraction", "eps_beyond_float", "negative"])
def test_config_numbers_out_of_range(wquant_bin, tmp_path, minilm_dir, key, value, contains):
    model = tmp_path / "model"
    model.mkdir()
    for f in minilm_dir.iterdir():
        if f.is_file() and f.name != "config.json":
            (model / f.name).symlink_to(f)
    config = json.loads((minilm_dir / "config.json").read_text())
    config[key] = value
    (model / "config.json").write_text(json.dumps(config))
    expect_error(wquant_bin, ["embed", model, "In the beginning"], inputs=[model],
                 contains=[str(model), contains])
