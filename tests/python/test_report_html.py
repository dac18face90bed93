"""wquant quantize --report FILE.html: one self-contained page of charts.

The page is parsed with html.parser and checked against the JSON report of the
same run (every quantized layer drawn, the histogram of the chosen layer
summing to its weight count), for the absence of scripts and outside URLs, and
rendered in headless Chromium (skipped when it is not installed) to check that
a non-blank screenshot of the expected size comes out.
"""
import html.parser
import json
import math
import shutil
import subprocess
import zlib

import numpy as np
import pytest

import tiny_models
from conftest import run


class Page(html.parser.HTMLParser):
    """Collects what the checks need from the report page."""

    def __init__(self):
        super().__init__()
        self.tags = set()
        self.attrs = []             # (tag, name, value) of every attribute
        self.row_layers = []        # data-layer of every layer row, charts in order
        self.histogram_layer = None
        self.bin_counts = []        # data-count of the histogram's bins, in order

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        a = dict(attrs)
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag == "g" and a.get("class") == "layer":
            self.row_layers.append(a["data-layer"])
        elif tag == "div" and a.get("class") == "histogram":
            self.histogram_layer = a["data-layer"]
        elif tag == "g" and a.get("class") == "bin":
            self.bin_counts.append(int(a["data-count"]))


def quantize_with_report(wquant_bin, src, out_dir, *flags):
    """Returns (JSON report, parsed page, page text) of one quantize run."""
    page_path = out_dir / "report.html"
    proc = run([wquant_bin, "quantize", src, "-o", out_dir / "q", "--json", "--no-progress",
                "--report", page_path, *flags])
    report = json.loads(proc.stdout)
    text = page_path.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    page.close()
    return report, page, text


def check_page(report, page, text, chosen):
    layers = [l["layer"] for l in report["layers"]]
    assert layers, "the run quantized no layer"
    # Each layer is one row of the bytes chart and of both error charts.
    assert sorted(page.row_layers) == sorted(layers * 3)
    # The histogram: the chosen layer's, one count per bin as in the JSON, and
    # every weight (rows x cols) counted once.
    by_name = {l["layer"]: l for l in report["layers"]}
    assert page.histogram_layer == chosen
    layer = by_name[chosen]
    assert page.bin_counts == layer["error_histogram"]["counts"]
    assert sum(page.bin_counts) == math.prod(layer["shape"])
    # Self-contained: no script, nothing fetched.
    assert "script" not in page.tags
    assert "http://" not in text and "https://" not in text
    assert not [a for a in page.attrs if a[1] in ("src", "href", "xlink:href")], page.attrs
    assert "@import" not in text and "url(" not in text


def check_histograms(report):
    """Every layer's JSON histogram spans [-max_abs_error, max_abs_error] and
    counts each of its weights once."""
    for l in report["layers"]:
        h = l["error_histogram"]
        assert len(h["counts"]) == 41, l["layer"]  # kErrorHistogramBins
        assert sum(h["counts"]) == math.prod(l["shape"]), l["layer"]
        assert h["hi"] == l["max_abs_error"] and h["lo"] == -l["max_abs_error"], l["layer"]
        # The largest error is a bin's edge value: an edge bin holds it.
        assert h["counts"][0] + h["counts"][-1] > 0, l["layer"]


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    d = tmp_path_factory.mktemp("llama")
    tiny_models.build("llama", d)
    return d


def test_tiny_llama_report(wquant_bin, tiny_llama, tmp_path):
    report, page, text = quantize_with_report(wquant_bin, tiny_llama, tmp_path,
                                              "--bits", "4", "--group-size", "32")
    check_histograms(report)
    worst = min(report["layers"], key=lambda l: l["sqnr_db"])["layer"]
    check_page(report, page, text, worst)


def test_report_layer_selects_the_histogram(wquant_bin, tiny_llama, tmp_path):
    name = "model.layers.1.mlp.up_proj"
    report, page, text = quantize_with_report(wquant_bin, tiny_llama, tmp_path, "--report-layer", name)
    # The default would be the lowest SQNR: the test shows a choice only if
    # the named layer is another one.
    assert min(report["layers"], key=lambda l: l["sqnr_db"])["layer"] != name
    check_page(report, page, text, name)


def test_report_refusals(wquant_bin, tiny_llama, tmp_path):
    proc = run([wquant_bin, "quantize", tiny_llama, "--dry-run", "--report", tmp_path / "r.html"], check=False)
    assert proc.returncode != 0 and "--dry-run" in proc.stderr
    missing = tmp_path / "no" / "r.html"
    proc = run([wquant_bin, "quantize", tiny_llama, "-o", tmp_path / "q", "--no-progress",
                "--report", missing], check=False)
    assert proc.returncode != 0 and str(missing) in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "q").exists()  # refused before the run
    proc = run([wquant_bin, "quantize", tiny_llama, "-o", tmp_path / "q", "--no-progress",
                "--report", tmp_path / "r.html", "--report-layer", "model.layers.9.nothing"], check=False)
    assert proc.returncode != 0 and "model.layers.9.nothing" in proc.stderr
    assert not (tmp_path / "r.html").exists()


def test_hostile_layer_name_is_escaped(wquant_bin, tmp_path):
    """A tensor name from the file with markup in it stays text."""
    from safetensors.numpy import save_file
    name = 'model.layers.0.<script>x("1")</script>&\'"><i>.proj'
    rng = np.random.default_rng(0)
    save_file({name + ".weight": rng.standard_normal((16, 32), dtype=np.float32)},
              str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "some_unknown_model"}))
    out = tmp_path / "out"
    out.mkdir()
    report, page, text = quantize_with_report(wquant_bin, tmp_path, out)
    assert [l["layer"] for l in report["layers"]] == [name]
    check_page(report, page, text, name)
    assert page.tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "table", "tr", "th",
                         "td", "p", "b", "code", "div", "svg", "g", "rect", "text", "line"}, page.tags


# --- rendering ---------------------------------------------------------------

WINDOW = (1280, 2000)


def read_png(path):
    """Returns the pixels of an 8-bit RGB or RGBA PNG as an array [h, w, c]
    (stdlib zlib + numpy: no imaging package needed)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    depth, colour, interlace = header[8], header[9], header[12]
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    c = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * c)
    out = np.zeros((h, w * c), np.int32)
    prev = np.zeros(w * c, np.int32)
    for y in range(h):
        f, row = raw[y, 0], raw[y, 1:].astype(np.int32)
        if f == 0:
            cur = row
        elif f == 1:    # Sub: a running sum per channel
            cur = np.cumsum(row.reshape(w, c), axis=0).reshape(-1) & 255
        elif f == 2:    # Up
            cur = (row + prev) & 255
        else:           # Average, Paeth: sequential along the row
            cur = row.copy()
            for x in range(w * c):
                a = cur[x - c] if x >= c else 0
                b = prev[x]
                if f == 3:
                    cur[x] = (cur[x] + (a + b) // 2) & 255
                else:
                    cc = prev[x - c] if x >= c else 0
                    p = a + b - cc
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - cc)
                    cur[x] = (cur[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else cc)) & 255
        out[y] = cur
        prev = cur
    return out.reshape(h, w, c).astype(np.uint8)


def render(page_path, png_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (apt-get install -y chromium, see scripts/install_deps.sh): "
                    "the page is checked but not rendered")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={png_path}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                    page_path.as_uri()], capture_output=True, timeout=60, check=True)
    assert png_path.exists(), "chromium wrote no screenshot"
    pixels = read_png(png_path)
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    colours = np.unique(pixels[..., :3].reshape(-1, 3), axis=0)
    # A blank page is one colour, text alone a few dozen grey levels from
    # anti-aliasing; the bars' six colours with their anti-aliased edges on
    # white and grey give hundreds.
    assert len(colours) > 100, len(colours)
    # Not blank either: more than 2% of the pixels are not white (the
    # header, the footprint bars and the first layer rows fill the window's
    # top half with ink well beyond that).
    ink = (pixels[..., :3].min(axis=2) < 240).mean()
    assert ink > 0.02, ink
    return pixels


def test_minilm_report_renders(wquant_bin, minilm_dir, tmp_path):
    report, page, text = quantize_with_report(wquant_bin, minilm_dir, tmp_path, "--bits", "4",
                                              "--group-size", "32")
    check_histograms(report)
    worst = min(report["layers"], key=lambda l: l["sqnr_db"])["layer"]
    check_page(report, page, text, worst)
    render(tmp_path / "report.html", tmp_path / "minilm.png")


def test_tiny_llama_report_renders(wquant_bin, tiny_llama, tmp_path):
    quantize_with_report(wquant_bin, tiny_llama, tmp_path)
    render(tmp_path / "report.html", tmp_path / "llama.png")
