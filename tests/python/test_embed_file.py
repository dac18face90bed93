"""`wquant embed --file`: the non-empty lines of a file are embedded as if
they were given as arguments, after the arguments; the JSON output carries
the run's time and peak RSS (tools/quality_figures.py embeds hundreds of
Genesis verses this way)."""
import json

import numpy as np

from conftest import run


def embed_json(wquant_bin, model, *args):
    return json.loads(run([wquant_bin, "embed", model, *args, "--json"]).stdout)


def test_file_lines_equal_arguments(wquant_bin, minilm_dir, tmp_path):
    lines = ["In the beginning God created the heaven and the earth.",
             "And the earth was without form, and void.",
             "And God said, Let there be light: and there was light."]
    path = tmp_path / "lines.txt"
    # The empty line is skipped and the CRLF ending's '\r' dropped.
    path.write_bytes((lines[1] + "\n\n" + lines[2] + "\r\n").encode())
    by_args = embed_json(wquant_bin, minilm_dir, *lines)
    by_file = embed_json(wquant_bin, minilm_dir, lines[0], "--file", path)
    assert [e["text"] for e in by_file["embeddings"]] == lines
    np.testing.assert_array_equal([e["embedding"] for e in by_file["embeddings"]],
                                  [e["embedding"] for e in by_args["embeddings"]])
    assert by_file["similarity"] == by_args["similarity"]
    assert by_file["seconds"] > 0 and by_file["peak_rss_mb"] > 10


def test_file_only(wquant_bin, minilm_dir, tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("A single verse\n")
    j = embed_json(wquant_bin, minilm_dir, "--file", path)
    assert len(j["embeddings"]) == 1 and "similarity" not in j


def one_error_line(proc):
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wquant: error:"), proc.stderr
    assert proc.stdout == ""
    return lines[0]


def test_missing_empty_file_and_no_text_are_errors(wquant_bin, minilm_dir, tmp_path):
    missing = tmp_path / "missing.txt"
    assert f"{missing}: cannot open" in one_error_line(
        run([wquant_bin, "embed", minilm_dir, "--file", missing], check=False))
    blank = tmp_path / "blank.txt"
    blank.write_text("\n\n")
    assert "every line is empty" in one_error_line(
        run([wquant_bin, "embed", minilm_dir, "--file", blank], check=False))
    assert "no text to embed" in one_error_line(
        run([wquant_bin, "embed", minilm_dir], check=False))
