"""Oracle test: wquant's safetensors reader and writer against the reference
implementation, the `safetensors` Python package.

tests/tools/st_roundtrip drives our code: `copy IN OUT` reads IN with
SafetensorsFile and writes it back with SafetensorsWriter; `dump IN` prints
what our reader saw (names, dtypes, shapes, a checksum of each tensor's bytes).
"""
import json
import struct

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.numpy import save_file as np_save_file
from safetensors.torch import save_file as torch_save_file

from conftest import run


def checksum(raw: np.ndarray) -> int:
    """Same as st_roundtrip's: sum of b[i] * (i % 251 + 1) mod 2^64."""
    b = raw.astype(np.uint64)
    w = np.arange(b.size, dtype=np.uint64) % np.uint64(251) + np.uint64(1)
    return int((b * w).sum(dtype=np.uint64))


def load_reference(path):
    """Returns {name: (dtype name, shape, raw bytes as uint8 array)}, metadata
    as read by the safetensors package."""
    out = {}
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
        for name in f.keys():
            s = f.get_slice(name)
            t = f.get_tensor(name)
            raw = t.reshape(-1).contiguous().view(torch.uint8).numpy()
            out[name] = (s.get_dtype(), list(s.get_shape()), raw)
    return out, metadata


def assert_same_file_content(a, b):
    ta, ma = load_reference(a)
    tb, mb = load_reference(b)
    assert ma == mb
    assert sorted(ta) == sorted(tb)
    for name in ta:
        assert ta[name][0] == tb[name][0], name
        assert ta[name][1] == tb[name][1], name
        assert np.array_equal(ta[name][2], tb[name][2]), name


def assert_dump_matches_reference(st_roundtrip, path):
    ours = json.loads(run([st_roundtrip, "dump", path]).stdout)
    ref, metadata = load_reference(path)
    assert ours["metadata"] == metadata
    assert sorted(t["name"] for t in ours["tensors"]) == sorted(ref)
    for t in ours["tensors"]:
        dtype, shape, raw = ref[t["name"]]
        assert t["dtype"] == dtype, t["name"]
        assert t["shape"] == shape, t["name"]
        assert t["checksum"] == checksum(raw), t["name"]


@pytest.fixture(scope="module")
def st_roundtrip(tool_bin):
    return tool_bin("st_roundtrip")


@pytest.fixture(scope="module")
def mixed_file(tmp_path_factory):
    """A file with every numpy dtype safetensors supports, odd sizes, a scalar,
    zero-size tensors and metadata, written by safetensors itself."""
    rng = np.random.default_rng(0)
    tensors = {
        "f64": rng.standard_normal((3, 5)),
        "f32": rng.standard_normal((7,)).astype(np.float32),
        "f16": rng.standard_normal((2, 3, 3)).astype(np.float16),
        "i64": rng.integers(-2**40, 2**40, (3,), dtype=np.int64),
        "i32": rng.integers(-2**30, 2**30, (5,), dtype=np.int32),
        "i16": rng.integers(-2**14, 2**14, (3,), dtype=np.int16),
        "i8": rng.integers(-128, 127, (13,), dtype=np.int8),
        "u64": rng.integers(0, 2**62, (2,), dtype=np.uint64),
        "u32": rng.integers(0, 2**31, (3,), dtype=np.uint32),
        "u16": rng.integers(0, 2**15, (3,), dtype=np.uint16),
        "u8": rng.integers(0, 255, (9,), dtype=np.uint8),
        "bool": rng.integers(0, 2, (5,)).astype(np.bool_),
        "scalar": np.array(3.25, dtype=np.float32),
        "empty_f32": np.zeros((0, 4), dtype=np.float32),
        "empty_u8": np.zeros((0,), dtype=np.uint8),
    }
    path = tmp_path_factory.mktemp("mixed") / "mixed.safetensors"
    np_save_file(tensors, str(path), metadata={"format": "np", "note": "mixed dtypes"})
    return path


@pytest.fixture(scope="module")
def bf16_file(tmp_path_factory):
    """BF16 (no numpy dtype) next to F32, written by safetensors.torch."""
    g = torch.Generator().manual_seed(0)
    tensors = {
        "w.bf16": torch.randn(4, 3, generator=g).to(torch.bfloat16),
        "b.f32": torch.randn(3, generator=g),
        "x.bf16": torch.randn(1, generator=g).to(torch.bfloat16),
    }
    path = tmp_path_factory.mktemp("bf16") / "bf16.safetensors"
    torch_save_file(tensors, str(path))
    return path


@pytest.mark.parametrize("mode", ["copy", "copy-reversed"])
def test_roundtrip_minilm(st_roundtrip, minilm_dir, tmp_path, mode):
    src = minilm_dir / "model.safetensors"
    out = tmp_path / "out.safetensors"
    run([st_roundtrip, mode, src, out])
    assert_same_file_content(src, out)


@pytest.mark.parametrize("mode", ["copy", "copy-reversed"])
@pytest.mark.parametrize("fixture", ["mixed_file", "bf16_file"])
def test_roundtrip_written_by_safetensors(st_roundtrip, request, tmp_path, mode, fixture):
    src = request.getfixturevalue(fixture)
    out = tmp_path / "out.safetensors"
    run([st_roundtrip, mode, src, out])
    assert_same_file_content(src, out)
    assert_dump_matches_reference(st_roundtrip, out)


def test_identity_copy_is_byte_identical_in_data(st_roundtrip, mixed_file, tmp_path):
    # Same tensor order, same packing: only the header text may differ.
    out = tmp_path / "out.safetensors"
    run([st_roundtrip, "copy", mixed_file, out])

    def data_section(p):
        raw = p.read_bytes()
        (n,) = struct.unpack("<Q", raw[:8])
        return raw[8 + n:]

    assert data_section(out) == data_section(mixed_file)
    (n,) = struct.unpack("<Q", out.read_bytes()[:8])
    assert (8 + n) % 8 == 0


@pytest.mark.parametrize("fixture", ["mixed_file", "bf16_file"])
def test_reader_accepts_safetensors_output(st_roundtrip, request, fixture):
    assert_dump_matches_reference(st_roundtrip, request.getfixturevalue(fixture))


def test_reader_accepts_minilm(st_roundtrip, minilm_dir):
    assert_dump_matches_reference(st_roundtrip, minilm_dir / "model.safetensors")


def _file(header, data=b"", length=None):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


# Files both implementations must reject.
BAD_FILES = {
    "too_short": b"\x02\0\0\0",
    "header_past_end": _file({}, length=1000),
    "unknown_dtype": _file({"w": {"dtype": "F9", "shape": [1], "data_offsets": [0, 1]}}, b"x"),
    "size_mismatch": _file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"x" * 4),
    "end_beyond_data": _file({"w": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]}}, b"x" * 4),
    "overlap": _file({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                      "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}, b"x" * 6),
    "not_json": struct.pack("<Q", 4) + b"{abc",
    "metadata_not_strings": _file({"__metadata__": {"a": 1}}),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_both_reject(st_roundtrip, tmp_path, case):
    path = tmp_path / f"{case}.safetensors"
    path.write_bytes(BAD_FILES[case])
    with pytest.raises(Exception):
        with safe_open(str(path), framework="np") as f:
            for name in f.keys():
                f.get_tensor(name)
    proc = run([st_roundtrip, "dump", path], check=False)
    assert proc.returncode == 1, proc.stdout
    assert str(path) in proc.stderr
