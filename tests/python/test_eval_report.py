"""wquant eval --report FILE.html: the evaluation as a page of charts, per
window (chunk): KL divergence (mean, max) and top-1 agreement against the
reference, perplexity. Checked against the --json figures of the same run
(every window drawn with its value; the per-window means averaging to the
run's), rendered in headless Chromium, and refused before the run where it
could not be written."""
import html.parser
import json

import pytest

import tiny_models
from conftest import CACHE, run
from test_report_html import render

GENESIS = CACHE / "text" / "genesis.txt"


class Bars(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.bars = {}  # chart title -> [(window, value)]
        self.tags = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        a = dict(attrs)
        if tag == "g" and a.get("class") == "bar":
            self.bars.setdefault(a["data-chart"], []).append((int(a["data-window"]), float(a["data-value"])))


@pytest.fixture(scope="module")
def models(wquant_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("eval")
    tiny_models.build("llama", d / "float")
    run([wquant_bin, "quantize", d / "float", "-o", d / "w2", "--bits", "2", "--group-size", "32", "--no-progress"])
    return d


def test_eval_report_draws_every_window(wquant_bin, smollm2_gguf, tmp_path):
    """SmolLM2 W4 g32 against its GGUF original on 6 windows of Genesis."""
    q = tmp_path / "w4"
    run([wquant_bin, "quantize", smollm2_gguf, "-o", q, "--bits", "4", "--group-size", "32", "--no-progress"])
    page = tmp_path / "eval.html"
    args = [wquant_bin, "eval", q, "--reference", smollm2_gguf, "--text", GENESIS, "--context", "64", "--chunks", "6"]
    result = json.loads(run([*args, "--json", "--report", page]).stdout)
    windows = result["windows"]
    assert len(windows) == 6
    # The run's means are the windows' means (every window scores context - 1 tokens).
    assert sum(w["mean_kl"] for w in windows) / 6 == pytest.approx(result["mean_kl"], rel=1e-12)
    assert sum(w["top1_agreement"] for w in windows) / 6 == pytest.approx(result["top1_agreement"], rel=1e-12)
    assert max(w["max_kl"] for w in windows) == pytest.approx(result["max_kl"], rel=1e-12)
    parsed = Bars()
    text = page.read_text()
    parsed.feed(text)
    assert "script" not in parsed.tags and "http" not in text.replace("http://www.w3.org", "")
    kl = parsed.bars["KL divergence per window"]
    assert [w for w, _ in kl] == list(range(1, 7))
    assert [v for _, v in kl] == pytest.approx([w["mean_kl"] for w in windows], rel=1e-8)
    assert [v for _, v in parsed.bars["Top-1 agreement per window"]] == pytest.approx(
        [100 * w["top1_agreement"] for w in windows], rel=1e-8)
    assert len(parsed.bars["Perplexity per window"]) == 12  # model and reference side by side
    assert f"{result['mean_kl']:.6f}" in text
    render(page, tmp_path / "eval.png")


def test_eval_report_without_reference_draws_perplexity(wquant_bin, models, tmp_path):
    tok = tmp_path / "tokenizer.json"
    from test_calibration_cli import write_tokenizer
    write_tokenizer(tok)
    page = tmp_path / "eval.html"
    run([wquant_bin, "eval", models / "w2", "--tokenizer", tok, "--text", GENESIS, "--context", "32",
         "--chunks", "4", "--report", page])
    parsed = Bars()
    parsed.feed(page.read_text())
    assert list(parsed.bars) == ["Perplexity per window"] and len(parsed.bars["Perplexity per window"]) == 4


@pytest.mark.parametrize("where,message", [("missing/eval.html", "does not exist"), (".", "it is a directory")])
def test_eval_report_refused_before_the_run(wquant_bin, models, tmp_path, where, message):
    target = tmp_path / where
    proc = run([wquant_bin, "eval", models / "w2", "--text", GENESIS, "--report", target], check=False)
    assert proc.returncode == 1 and message in proc.stderr and "cannot write the HTML report" in proc.stderr
    assert proc.stdout == ""
