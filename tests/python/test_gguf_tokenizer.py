"""`wquant quantize` of a GGUF file writes the GGUF's tokenizer into the output
as tokenizer.json and tokenizer_config.json, so the output runs on its own.

Oracle: the tokenizer transformers builds from the same GGUF file
(AutoTokenizer.from_pretrained(dir, gguf_file=...)). The written tokenizer.json
is the same JSON as its backend's, loads in the `tokenizers` package and
encodes / decodes the book of Genesis and awkward strings to the same ids and
text; the output directory loads in AutoTokenizer with the same special tokens
and chat template. Then `wquant generate` and `wquant eval` on the output need
no --tokenizer. A tiny GGUF covers what SmolLM2 lacks (add_bos_token, ordinary
tokens as bos / unk / pad, a raw UTF-8 token, a user-defined token), and one
whose tokenizer cannot be written gets a warning, not a failure.
"""
import json
import random

import numpy as np
import pytest
from tokenizers import Tokenizer

from conftest import CACHE, run
from test_tokenizer_oracle import AWKWARD

TEXT = CACHE / "text" / "genesis.txt"
MESSAGES = [{"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "And of Italy?"}]


def gguf_tokenizer(gguf_path):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)


def quantize(wquant_bin, model, out, *flags):
    return json.loads(run([wquant_bin, "quantize", model, "-o", out, "--json", "--no-progress",
                           *flags]).stdout)


def assert_same_tokenizer(ours: Tokenizer, ref, texts):
    """Encode (with and without special tokens) and decode (with and without
    skipping them) give the same ids and text."""
    for special in (True, False):
        got = [e.ids for e in ours.encode_batch(texts, add_special_tokens=special)]
        want = ref(texts, add_special_tokens=special)["input_ids"]
        bad = [(t, g, w) for t, g, w in zip(texts, got, want) if g != w]
        assert not bad, f"{len(bad)} of {len(texts)} differ, first: {bad[0]!r}"
    rng = random.Random(0)
    id_lists = want + [[rng.randrange(len(ref)) for _ in range(rng.randrange(1, 12))]
                       for _ in range(300)]
    for skip in (False, True):
        got = ours.decode_batch(id_lists, skip_special_tokens=skip)
        wanted = [ref.decode(ids, skip_special_tokens=skip) for ids in id_lists]
        bad = [(i, g, w) for i, g, w in zip(id_lists, got, wanted) if g != w]
        assert not bad, f"decode: {len(bad)} of {len(id_lists)} differ, first: {bad[0]!r}"


# ---------------------------------------------------------------- SmolLM2

@pytest.fixture(scope="module")
def text():
    if not TEXT.exists():
        pytest.fail(f"{TEXT} missing: run scripts/fetch_text.sh")
    return TEXT


@pytest.fixture(scope="module")
def smollm2_w8(wquant_bin, smollm2_gguf, tmp_path_factory):
    out = tmp_path_factory.mktemp("smollm2") / "w8"
    report = quantize(wquant_bin, smollm2_gguf, out)
    assert report["warnings"] == []
    return out


@pytest.fixture(scope="module")
def smollm2_ref(smollm2_gguf):
    return gguf_tokenizer(smollm2_gguf)


def test_written_files(smollm2_w8, smollm2_ref):
    ours = json.loads((smollm2_w8 / "tokenizer.json").read_text())
    assert ours == json.loads(smollm2_ref.backend_tokenizer.to_str())
    config = json.loads((smollm2_w8 / "tokenizer_config.json").read_text())
    assert config["bos_token"] == "<|im_start|>" and config["eos_token"] == "<|im_end|>"
    assert config["unk_token"] == "<|endoftext|>" and config["pad_token"] == "<|im_end|>"
    assert config["add_bos_token"] is False
    assert config["chat_template"] == smollm2_ref.chat_template


def test_tokenizers_package_matches_transformers_gguf(smollm2_w8, smollm2_ref, text):
    ours = Tokenizer.from_file(str(smollm2_w8 / "tokenizer.json"))
    genesis = text.read_text()
    lines = genesis.splitlines()
    assert_same_tokenizer(ours, smollm2_ref, [genesis] + lines + AWKWARD)


def test_auto_tokenizer_loads_the_output(smollm2_w8, smollm2_ref, text):
    from transformers import AutoTokenizer
    ours = AutoTokenizer.from_pretrained(smollm2_w8)
    for attr in ("bos_token", "eos_token", "unk_token", "pad_token", "all_special_tokens",
                 "chat_template"):
        assert getattr(ours, attr) == getattr(smollm2_ref, attr), attr
    texts = text.read_text().splitlines()[:200] + AWKWARD
    ids = smollm2_ref(texts)["input_ids"]
    assert ours(texts)["input_ids"] == ids
    for skip in (False, True):
        assert (ours.batch_decode(ids, skip_special_tokens=skip) ==
                smollm2_ref.batch_decode(ids, skip_special_tokens=skip))
    for prompt in (True, False):
        assert (ours.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=prompt) ==
                smollm2_ref.apply_chat_template(MESSAGES, tokenize=False,
                                                add_generation_prompt=prompt))


def test_generate_needs_no_tokenizer_flag(wquant_bin, smollm2_w8, smollm2_gguf):
    prompt = ["-p", "What is the capital of France?", "-n", "12"]
    alone = run([wquant_bin, "generate", smollm2_w8, *prompt], timeout=300)
    with_gguf = run([wquant_bin, "generate", smollm2_w8, "--tokenizer", smollm2_gguf, *prompt],
                    timeout=300)
    assert alone.stdout == with_gguf.stdout and len(alone.stdout.strip()) > 10


def test_eval_needs_no_tokenizer_flag(wquant_bin, smollm2_w8, smollm2_gguf, text):
    args = ["--text", text, "--context", "64", "--chunks", "2", "--json"]
    alone = json.loads(run([wquant_bin, "eval", smollm2_w8, *args], timeout=300).stdout)
    with_gguf = json.loads(run([wquant_bin, "eval", smollm2_w8, "--tokenizer", smollm2_gguf,
                                *args], timeout=300).stdout)
    for key in ("text_tokens", "scored_tokens", "perplexity"):
        assert alone[key] == with_gguf[key], key


# ---------------------------------------------------------------- tiny GGUF models

TINY_TOKENS = ["<|endoftext|>", "<|im_start|>", "h", "i", "Ġ", "hi", "Ġhi", "<think>", "α", "Î",
               "±", "x", "y"]


def write_tiny_llama(path, pre="smollm", add_bos=True):
    """A one-layer llama GGUF (hidden 32, 4 heads, vocabulary of 13) whose
    tokenizer has: raw UTF-8 "α" (respelled "Î±"), user-defined <think>, an
    ordinary bos ("x"), unk ("i") and pad ("y"), add_bos_token."""
    import gguf
    rng = np.random.default_rng(0)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(64)
    w.add_embedding_length(32)
    w.add_feed_forward_length(64)
    w.add_block_count(1)
    w.add_head_count(4)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(TINY_TOKENS)
    w.add_token_types([3, 3, 1, 1, 1, 1, 1, 4, 1, 1, 1, 1, 1])
    w.add_token_merges(["h i", "Ġ hi", "Î ±"])
    w.add_bos_token_id(11)
    w.add_eos_token_id(0)
    w.add_unk_token_id(3)
    w.add_pad_token_id(12)
    w.add_add_bos_token(add_bos)
    w.add_chat_template("{{ messages[0]['content'] }}")
    shapes = {"token_embd.weight": (13, 32), "output_norm.weight": (32,),
              "blk.0.attn_norm.weight": (32,), "blk.0.ffn_norm.weight": (32,),
              "blk.0.attn_q.weight": (32, 32), "blk.0.attn_k.weight": (32, 32),
              "blk.0.attn_v.weight": (32, 32), "blk.0.attn_output.weight": (32, 32),
              "blk.0.ffn_gate.weight": (64, 32), "blk.0.ffn_up.weight": (64, 32),
              "blk.0.ffn_down.weight": (32, 64)}
    for name, shape in shapes.items():
        w.add_tensor(name, rng.standard_normal(shape).astype(np.float32) * 0.1)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.mark.parametrize("add_bos", [True, False])
def test_tiny_gguf_tokenizer(wquant_bin, tool_bin, tmp_path, add_bos):
    model = write_tiny_llama(tmp_path / "tiny.gguf", add_bos=add_bos)
    ref = gguf_tokenizer(model)
    out = tmp_path / "out"
    assert quantize(wquant_bin, model, out)["warnings"] == []
    assert (json.loads((out / "tokenizer.json").read_text()) ==
            json.loads(ref.backend_tokenizer.to_str()))
    texts = ["hi <|im_start|>hi<think>α", "xhi y", "hi  hi\n", "αα Î±", "iii"] + AWKWARD
    assert_same_tokenizer(Tokenizer.from_file(str(out / "tokenizer.json")), ref, texts)
    config = json.loads((out / "tokenizer_config.json").read_text())
    assert (config["bos_token"], config["eos_token"], config["unk_token"], config["pad_token"]) == \
        ("x", "<|endoftext|>", "i", "y")
    # wquant's own tokenizer, from the written file and from the GGUF, agrees too.
    for source in (["--json", out / "tokenizer.json"], ["--gguf", model]):
        lines = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts)
        got = run([tool_bin("tokenize"), *source, "--escaped"], input=lines).stdout.splitlines()
        assert [[int(i) for i in ln.split()] for ln in got] == ref(texts)["input_ids"], source
    # The tool writes what quantize writes.
    hf = tmp_path / "hf"
    hf.mkdir()
    run([tool_bin("tokenize"), "--gguf", model, "--write-hf", hf])
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert (hf / name).read_text() == (out / name).read_text()
    # Generation on its own; its text is one or two characters (short texts
    # once crashed the streaming check for an incomplete UTF-8 character).
    proc = run([wquant_bin, "generate", out, "-p", "hi", "-n", "3", "--raw"])
    assert f"prompt {3 if add_bos else 2} tokens" in proc.stderr  # [x] h i: unk "i" is whole


def test_unsupported_tokenizer_is_a_warning(wquant_bin, tmp_path):
    """A pre-tokenizer regex other than GPT-2's (Llama 3's): the weights are
    written, the tokenizer is not, and the report says why."""
    model = write_tiny_llama(tmp_path / "llama3.gguf", pre="llama-bpe")
    out = tmp_path / "out"
    proc = run([wquant_bin, "quantize", model, "-o", out, "--json", "--no-progress"])
    warnings = json.loads(proc.stdout)["warnings"]
    assert len(warnings) == 1 and "llama-bpe" in warnings[0] and "--tokenizer" in warnings[0]
    assert "wquant: warning: no tokenizer.json written" in proc.stderr
    assert (out / "model.safetensors").exists()
    assert not (out / "tokenizer.json").exists() and not (out / "tokenizer_config.json").exists()
