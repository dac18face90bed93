"""Shared fixtures for the oracle and integration tests.

Paths come from the environment, with the defaults scripts/test.sh uses:
  WQUANT_BUILD_DIR  the CMake build directory (default: <repo>/build)
  WQUANT_CACHE      models and venv cache (default: ~/.cache/wquant)
"""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("WQUANT_BUILD_DIR", REPO / "build"))
CACHE = pathlib.Path(os.environ.get("WQUANT_CACHE", pathlib.Path.home() / ".cache" / "wquant"))
MINILM_DIR = CACHE / "models" / "minilm"
SMOLLM2_GGUF = CACHE / "models" / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _require(path: pathlib.Path) -> pathlib.Path:
    if not path.exists():
        pytest.fail(f"{path} missing: run scripts/fetch_models.sh (and build first)")
    return path


@pytest.fixture(scope="session")
def wquant_bin() -> pathlib.Path:
    return _require(BUILD / "wquant")


@pytest.fixture(scope="session")
def tool_bin():
    """Returns a function giving the path of a tests/tools executable."""
    return lambda name: _require(BUILD / name)


@pytest.fixture(scope="session")
def minilm_dir() -> pathlib.Path:
    return _require(MINILM_DIR)


@pytest.fixture(scope="session")
def smollm2_gguf() -> pathlib.Path:
    return _require(SMOLLM2_GGUF)


def run(cmd, check=True, **kw):
    """Runs cmd (a list), returns CompletedProcess with text stdout/stderr."""
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc
