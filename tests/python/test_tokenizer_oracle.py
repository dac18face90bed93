"""Oracle tests for wquant's tokenizers against Hugging Face `tokenizers` and transformers.

tests/tools/tokenize runs wquant's tokenizer over many lines at once; every
result must equal the reference exactly (ids, decoded text, and for the
exhaustive Unicode checks the normalized text and pre-tokenized pieces):
  - MiniLM's tokenizer.json (BERT WordPiece) against `tokenizers.Tokenizer`
    loaded from the same file (padding and truncation switched off: they are
    batching settings that wquant leaves to its caller);
  - SmolLM2's GGUF vocabulary against the tokenizer transformers builds from
    the same file (AutoTokenizer.from_pretrained(gguf_file=...));
  - byte-level BPE tokenizer.json files (that tokenizer saved by `tokenizers`,
    and variants with a Split regex or a Digits pre-tokenizer) against
    `tokenizers.Tokenizer` loaded from them.
Text: several thousand lines of English (the King James Bible from Debian's
bible-kjv, or the licence texts in /usr/share/common-licenses) and the awkward
strings below; the exhaustive checks run every code point through the
normalizer and pre-tokenizers.
"""
import json
import os
import random
import shutil
import subprocess

import pytest
from tokenizers import Regex, Tokenizer, pre_tokenizers

from conftest import run

AWKWARD = [
    "", " ", "   ", "\t", "\n", "\r\n", " \n \n ", "a\n\nb", "trailing newline\n",
    "  leading and trailing  ", "Hello   world\t\ttabs\n\nnewlines\r\nwindows",
    "multiple     spaces before\n  indented\n\n\n   three", "tab\tseparated\tvalues\t",
    "café naïve résumé coöperate Ångström ﬁ ligature", "Ça va? Où est l'hôtel? Straße, Ærøskøbing",
    "ΑΒΓ αβγ Ελληνικά ά έ ή ώ ΐ ᾂ", "Привет, мир! Ёлка йогурт", "Tiếng Việt có dấu: Nguyễn ặ ữ",
    "東京は日本の首都です。中文字符测试", "한국어 텍스트 안녕하세요", "ひらがな カタカナ ｶﾀｶﾅ",
    "العربية: مرحبا بالعالم، أهلاً وسهلاً إلى آخره", "עברית שָׁלוֹם", "हिन्दी देवनागरी", "ภาษาไทย",
    "e\u0301 combining acute, a\u0308\u0304 stacked, n\u0303, \u0301 alone",
    "Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032d\u0308\u0307l\u036e\u0312\u036b zalgo",
    "emoji 😀 👍🏽 🇫🇷 👨‍👩‍👧‍👦 ❤️ 🧑🏿‍💻 1️⃣ 🥰🫠",
    "numbers 0 12 345 6789 3.14159 1,000,000 -42 1e10 ²³ ½ ٣ ⅷ ①", "2024-01-02T03:04:05Z 0x1F 1_000",
    "contractions: it's we've they're I'm you'll he'd don't 'quoted' ''double''",
    "CAPS'S WE'VE Isn'T 's 't 're ' s", "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "text<|im_end|>more<|endoftext|>", "<|im_start|> spaced <|im_end|>", "<|im_start|<|im_start|>>",
    "[CLS] [SEP] [MASK] [PAD] [UNK] [cls] inline[SEP]x [SEP][SEP]",
    "punctuation!!! ??? ... --- ((brackets)) {curly} <angle> @#$%^&*_+=|\\~`",
    "url https://example.com/a_b?c=d&e=f#g and email a.b@c.de",
    "code: def f(x):\n    return x**2  # comment\n\tindented",
    "\u00a0nbsp\u00a0and\u2003em space\u3000ideographic\u202fnarrow \u0085next line \u2028sep",
    "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom \u00adsoft hyphen",
    "control\x00chars\x01\x7f\x0b\x0c and \ufffd replacement", "private use \ue000 unassigned \u0378 tag \U000e0041",
    "supercalifragilisticexpialidocious " * 4, "a" * 101, "b" * 100, "mixed中文English混合text",
    "İstanbul ıi ǅ ß ẞ ΣΑΣ ﬀ Ⅻ", "\U0001d400\U0001d401 math bold, \U00010400 deseret, \U0001f1e6",
    "unicode quotes “double” ‘single’ «guillemets» — dash … ellipsis",
]


def english_lines(count=4000):
    """Verses of the King James Bible (Debian's bible-kjv), or licence texts."""
    lines = []
    if shutil.which("bible"):
        books = "Genesis1:1-50:26 Exodus1:1-40:38 Psalms1:1-150:6 Matthew1:1-28:20 John1:1-21:25"
        out = subprocess.run(["bible", "-f", *books.split()], capture_output=True, text=True).stdout
        lines = [ln.split(" ", 1)[1] for ln in out.splitlines() if " " in ln]
    if len(lines) < count:
        for path in sorted(os.scandir("/usr/share/common-licenses"), key=lambda e: e.name):
            if path.is_file():
                lines += [ln for ln in open(path.path, errors="replace").read().splitlines() if ln.strip()]
    assert len(lines) >= count, "not enough English text"
    return lines[:count]


def every_code_point(pattern, plain_tail=True):
    """Lines holding every code point but the surrogates, each written as
    pattern(c) so that a misclassification changes the result. The planes past
    U+3FFFF, unassigned but for tags and private use, are written plainly in
    long runs if plain_tail (a wrongly classified one would split its run): the
    patterns cost pieces, and pieces cost time on the Python side."""
    rich = [*range(0xD800), *range(0xE000, 0x40000), *range(0xE0000, 0xE1000)]
    lines = ["".join(pattern(chr(c)) for c in rich[i:i + 64]) for i in range(0, len(rich), 64)]
    tail = [*range(0x40000, 0xE0000), *range(0xE1000, 0x110000)]
    if not plain_tail:
        return lines + ["".join(pattern(chr(c)) for c in tail[i:i + 64]) for i in range(0, len(tail), 64)]
    return lines + ["".join(map(chr, tail[i:i + 4096])) for i in range(0, len(tail), 4096)]


def byte_level_context(c):
    """After a letter, a digit and a space, before '!': one of the pieces differs
    for each of \\p{L}, \\p{N}, \\s and the rest."""
    return f"a{c}1{c} {c}!"


class Tool:
    """tests/tools/tokenize on one tokenizer (--json PATH or --gguf PATH)."""

    def __init__(self, binary, *source):
        self.cmd = [binary, *source]

    def lines(self, mode_flags, lines):
        text = "".join(json.dumps(ln, ensure_ascii=False) + "\n" for ln in lines)
        return self.run([*self.cmd, "--escaped", *mode_flags], text, len(lines))

    @staticmethod
    def run(cmd, text, count):
        # split("\n"), not splitlines(): JSON strings may hold U+0085 or U+2028 raw.
        out = run(cmd, input=text).stdout.split("\n")
        assert len(out) == count + 1 and out[-1] == ""
        return out[:-1]

    def encode(self, texts, special=True):
        out = self.lines([] if special else ["--no-special"], texts)
        return [[int(x) for x in ln.split()] for ln in out]

    def decode(self, id_lists, skip_special=False):
        text = "".join(" ".join(map(str, ids)) + "\n" for ids in id_lists)
        out = self.run([*self.cmd, "--escaped", "--decode", *(["--no-special"] if skip_special else [])],
                       text, len(id_lists))
        return [json.loads(ln) for ln in out]

    def normalize(self, texts):
        return [json.loads(ln) for ln in self.lines(["--normalize"], texts)]

    def pre_tokenize(self, texts):
        return [json.loads(ln) for ln in self.lines(["--pre-tokenize"], texts)]

    def info(self):
        return json.loads(run([*self.cmd, "--info"]).stdout)


def assert_same(ours, ref, inputs, what):
    bad = [(x, o, r) for x, o, r in zip(inputs, ours, ref) if o != r]
    assert not bad, f"{what}: {len(bad)} of {len(inputs)} differ, first: {bad[0]!r}"


def random_id_lists(vocab_size, count=300, seed=0):
    rng = random.Random(seed)
    return [[rng.randrange(vocab_size) for _ in range(rng.randrange(1, 12))] for _ in range(count)]


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def english():
    return english_lines()


@pytest.fixture(scope="module")
def minilm(minilm_dir, tool_bin):
    ref = Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    ref.no_padding()
    ref.no_truncation()
    return Tool(tool_bin("tokenize"), "--json", minilm_dir / "tokenizer.json"), ref


@pytest.fixture(scope="module")
def smollm2(smollm2_gguf, tool_bin):
    from transformers import AutoTokenizer
    ref = AutoTokenizer.from_pretrained(smollm2_gguf.parent, gguf_file=smollm2_gguf.name)
    return Tool(tool_bin("tokenize"), "--gguf", smollm2_gguf), ref


@pytest.fixture(scope="module")
def bpe_json_variants(smollm2, tool_bin, tmp_path_factory):
    """SmolLM2's byte-level BPE as tokenizer.json files: as transformers built it,
    with Split(GPT-2 regex) + ByteLevel(use_regex=False), and with Digits first
    (as SmolLM2's own tokenizer.json does)."""
    base = smollm2[1].backend_tokenizer
    gpt2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
    variants = {
        "bytelevel": base.pre_tokenizer,
        "split": pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(gpt2), behavior="isolated"),
                                          pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
        "digits": pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                           pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]),
    }
    out = {}
    for name, pre in variants.items():
        ref = Tokenizer.from_str(base.to_str())
        ref.pre_tokenizer = pre
        path = tmp_path_factory.mktemp(name) / "tokenizer.json"
        ref.save(str(path))
        out[name] = (Tool(tool_bin("tokenize"), "--json", path), Tokenizer.from_file(str(path)))
    return out


# ---------------------------------------------------------------- MiniLM (WordPiece)

@pytest.mark.parametrize("special", [True, False])
def test_minilm_encode(minilm, english, special):
    tool, ref = minilm
    texts = english + AWKWARD
    want = [e.ids for e in ref.encode_batch(texts, add_special_tokens=special)]
    assert_same(tool.encode(texts, special), want, texts, "MiniLM ids")


@pytest.mark.parametrize("skip", [False, True])
def test_minilm_decode(minilm, english, skip):
    tool, ref = minilm
    id_lists = [e.ids for e in ref.encode_batch(english[:1000] + AWKWARD)] + random_id_lists(ref.get_vocab_size())
    want = ref.decode_batch(id_lists, skip_special_tokens=skip)
    assert_same(tool.decode(id_lists, skip), want, id_lists, "MiniLM decode")


def test_minilm_every_code_point(minilm):
    """BertNormalizer (clean_text, CJK, strip_accents, lowercase) and
    BertPreTokenizer on every code point."""
    tool, ref = minilm
    # Each code point between two starters: NFD's canonical reordering, which
    # wquant leaves out (see normalize.h), never comes into play.
    lines = every_code_point(lambda c: f"a{c}", plain_tail=False)
    normalized = tool.normalize(lines)
    assert_same(normalized, [ref.normalizer.normalize_str(ln) for ln in lines], lines, "normalized")
    # Splitting is per code point (white space, punctuation or neither).
    want = [[p for p, _ in ref.pre_tokenizer.pre_tokenize_str(n)] for n in normalized]
    assert_same(tool.pre_tokenize(normalized), want, normalized, "pieces")


# ---------------------------------------------------------------- SmolLM2 (GGUF, byte-level BPE)

def test_smollm2_info(smollm2):
    tool, ref = smollm2
    assert tool.info() == {"vocab_size": len(ref), "bos_id": ref.bos_token_id, "eos_id": ref.eos_token_id}


@pytest.mark.parametrize("special", [True, False])
def test_smollm2_encode(smollm2, english, special):
    tool, ref = smollm2
    texts = english + AWKWARD
    want = ref(texts, add_special_tokens=special)["input_ids"]
    assert_same(tool.encode(texts, special), want, texts, "SmolLM2 ids")


@pytest.mark.parametrize("skip", [False, True])
def test_smollm2_decode(smollm2, english, skip):
    tool, ref = smollm2
    texts = english[:1000] + AWKWARD
    id_lists = ref(texts)["input_ids"] + random_id_lists(len(ref))
    # Every prefix of multi-byte characters' ids: decode must turn the cut
    # UTF-8 sequences into U+FFFD exactly as the reference does.
    for text in ["😀👨‍👩‍👧‍👦", "東京", "Ωé"]:
        ids = ref(text)["input_ids"]
        id_lists += [ids[:n] for n in range(1, len(ids) + 1)] + [ids[n:] for n in range(1, len(ids))]
    want = [ref.decode(ids, skip_special_tokens=skip) for ids in id_lists]
    assert_same(tool.decode(id_lists, skip), want, id_lists, "SmolLM2 decode")


def test_smollm2_round_trip(smollm2, english):
    """Byte-level BPE loses nothing: decode(encode(x)) == x."""
    tool, _ = smollm2
    texts = english + AWKWARD
    assert_same(tool.decode(tool.encode(texts)), texts, texts, "decode(encode(x))")


def test_smollm2_every_code_point(smollm2):
    tool, ref = smollm2
    lines = every_code_point(byte_level_context)
    want = [[p for p, _ in ref.backend_tokenizer.pre_tokenizer.pre_tokenize_str(ln)] for ln in lines]
    assert_same(tool.pre_tokenize(lines), want, lines, "byte-level pieces")


def test_tiny_gguf_vocabulary(tool_bin, tmp_path):
    """GGUF cases SmolLM2 does not have: a token stored as raw UTF-8 ("α",
    respelled "Î±"), a user-defined token, a bos that is an ordinary token,
    add_bos_token."""
    import gguf
    from transformers import AutoTokenizer
    writer = gguf.GGUFWriter(str(tmp_path / "vocab.gguf"), "llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(["<|endoftext|>", "<|im_start|>", "h", "i", "Ġ", "hi", "Ġhi", "<think>",
                           "α", "Î", "±", "x"])
    writer.add_token_types([3, 3, 1, 1, 1, 1, 1, 4, 1, 1, 1, 1])
    writer.add_token_merges(["h i", "Ġ hi", "Î ±"])
    writer.add_bos_token_id(11)
    writer.add_eos_token_id(0)
    writer.add_add_bos_token(True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    ref = AutoTokenizer.from_pretrained(tmp_path, gguf_file="vocab.gguf")
    tool = Tool(tool_bin("tokenize"), "--gguf", tmp_path / "vocab.gguf")
    texts = ["hi <|im_start|>hi<think>α", "xhi", "hi  hi\n", "αα Î±", ""] + AWKWARD
    ids = ref(texts)["input_ids"]
    assert_same(tool.encode(texts), ids, texts, "tiny GGUF ids")
    for skip in (False, True):
        want = [ref.decode(i, skip_special_tokens=skip) for i in ids]
        assert_same(tool.decode(ids, skip), want, ids, "tiny GGUF decode")


# ---------------------------------------------------------------- byte-level BPE tokenizer.json

@pytest.mark.parametrize("variant", ["bytelevel", "split", "digits"])
def test_bpe_tokenizer_json(bpe_json_variants, english, variant):
    tool, ref = bpe_json_variants[variant]
    texts = english[:1500] + AWKWARD
    want = [e.ids for e in ref.encode_batch(texts)]
    ours = tool.encode(texts)
    assert_same(ours, want, texts, f"{variant} ids")
    assert_same(tool.decode(ours), ref.decode_batch(want, skip_special_tokens=False), texts, "decode")


def test_digits_every_code_point(bpe_json_variants):
    tool, ref = bpe_json_variants["digits"]
    lines = every_code_point(lambda c: f"a{c}1{c}")
    want = [[p for p, _ in ref.pre_tokenizer.pre_tokenize_str(ln)] for ln in lines]
    assert_same(tool.pre_tokenize(lines), want, lines, "Digits + ByteLevel pieces")


# ---------------------------------------------------------------- added token options

def test_added_token_options(minilm, tool_bin, tmp_path):
    """lstrip / rstrip / single_word / normalized added tokens, on MiniLM's vocabulary."""
    from tokenizers import AddedToken
    ref = Tokenizer.from_str(minilm[1].to_str())
    ref.add_tokens([AddedToken("<l>", lstrip=True), AddedToken("<r>", rstrip=True),
                    AddedToken("<w>", single_word=True), AddedToken("Norm", normalized=True),
                    AddedToken("SpEc", normalized=True, special=True),
                    AddedToken("<both>", lstrip=True, rstrip=True, normalized=False)])
    ref.add_special_tokens([AddedToken("<S>", normalized=False)])
    path = tmp_path / "tokenizer.json"
    ref.save(str(path))
    tool = Tool(tool_bin("tokenize"), "--json", path)
    texts = ["a <l> b", "a   <l>b", "<l>", "x <r>   y", "x<r>", "<w>", "a <w> b", "a<w> b", "é<w>", "_<w>",
             "<w>1", "say NORM norm Norm", "spec SPEC", "  <both>  <both>  ", "<S><S> <S>", "a\u3000<l>\u3000<r>\u3000b"]
    assert_same(tool.encode(texts), [e.ids for e in ref.encode_batch(texts)], texts, "added tokens")
    ids = [e.ids for e in ref.encode_batch(texts)]
    assert_same(tool.decode(ids, True), ref.decode_batch(ids, skip_special_tokens=True), texts, "decode")


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"model": {"type": "WordLevel", "vocab": {}}}', 'model type "WordLevel" is not supported'),
    ('{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}', '"b", which is not in the vocabulary'),
    ('{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "normalizer": {"type": "NFKC"}}',
     'normalizer "NFKC" is not supported'),
])
def test_bad_tokenizer_json(tool_bin, tmp_path, content, message):
    path = tmp_path / "tokenizer.json"
    path.write_text(content)
    proc = run([tool_bin("tokenize"), "--json", path], check=False, input="x\n")
    assert proc.returncode == 1
    assert str(path) in proc.stderr and message in proc.stderr, proc.stderr
