"""wquant's SentencePiece-style tokenizer.json support (byte-fallback BPE,
Unigram; Prepend / Replace normalizers; Metaspace, WhitespaceSplit and string
Split pre-tokenizers; Replace / ByteFallback / Fuse / Strip / Metaspace
decoders) against the `tokenizers` package loading the same files.

The vocabularies are real SentencePiece models: `sentencepiece` trains a BPE
(byte fallback) and a unigram model of 800 pieces on the licence texts in
/usr/share/common-licenses, and transformers' converters turn them into
tokenizer.json (spm_fixtures.py). The test text is other: Bible verses and
the awkward strings of test_tokenizer_oracle.py, where every non-ASCII
character and most rare words fall outside the small vocabulary, so byte
fallback and unknowns are exercised on nearly every line. Around the models,
each variant puts the components a family of real checkpoints ships:
  llama2   Llama-2 / TinyLlama / Mistral-v0.1 / Phi-3 (legacy): Prepend +
           Replace normalizers, a <s> template, decoder Replace, ByteFallback,
           Fuse, Strip(" ", 1, 0)
  metaspace  Llama / Mistral with legacy=False: Metaspace(first, no split)
  gemma    transformers 5's GemmaConverter: Replace normalizer, Split(" ",
           MergedWithPrevious); and gemma-old: no pre-tokenizer (Gemma 1/2 files)
  t5       Unigram with WhitespaceSplit + Metaspace(always, split) and the
           Metaspace decoder; unigram-bytes: Unigram with byte fallback
Every result must be identical: ids, and decoded text for those ids and for
random id lists (which make invalid byte sequences for ByteFallback).
"""
import json
import pathlib

import pytest
from tokenizers import Tokenizer

import spm_fixtures
from test_tokenizer_oracle import AWKWARD, Tool, assert_same, english_lines, random_id_lists

LLAMA2_NORMALIZER = {"type": "Sequence", "normalizers": [
    {"type": "Prepend", "prepend": "\u2581"},
    {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}
SPM_DECODER = {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
    {"type": "ByteFallback"}, {"type": "Fuse"},
    {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
BOS_TEMPLATE = {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
METASPACE = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}


def training_text(directory: pathlib.Path) -> pathlib.Path:
    licences = sorted(pathlib.Path("/usr/share/common-licenses").glob("*"))
    text = "\n".join(p.read_text(errors="replace") for p in licences if p.is_file())
    path = directory / "licences.txt"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def variants(tool_bin, tmp_path_factory):
    """{name: (Tool, tokenizers.Tokenizer)} over one tokenizer.json each."""
    d = tmp_path_factory.mktemp("spm")
    text = training_text(d)
    bpe = spm_fixtures.train(text, d, "bpe")
    # Gemma's special pieces: <pad> 0, <eos> 1, <bos> 2, <unk> 3 (its converter assumes them).
    gemma_bpe = spm_fixtures.train(text, d, "bpe", name="gemma", pad_id=0, eos_id=1, bos_id=2, unk_id=3,
                                   pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>")
    # identity: no precompiled normalization map (its Precompiled normalizer is not supported).
    unigram = spm_fixtures.train(text, d, "unigram", normalization_rule_name="identity")
    llama = json.loads(spm_fixtures.convert(bpe, "LlamaConverter", True, d / "llama.json").read_text())
    gemma = json.loads(spm_fixtures.convert(gemma_bpe, "GemmaConverter", True, d / "gemma.json").read_text())
    t5 = json.loads(spm_fixtures.convert(unigram, "T5Converter", True, d / "t5.json").read_text())
    assert llama["model"]["type"] == "BPE" and llama["model"]["byte_fallback"]
    assert t5["model"]["type"] == "Unigram"
    # T5's own normalizers (Precompiled, whitespace Strip, a Replace regex) are not supported.
    t5["normalizer"] = None
    specs = {
        "llama2": dict(llama, normalizer=LLAMA2_NORMALIZER, pre_tokenizer=None,
                       post_processor=BOS_TEMPLATE, decoder=SPM_DECODER),
        "metaspace": dict(llama, normalizer=None, post_processor=BOS_TEMPLATE, decoder=SPM_DECODER,
                          pre_tokenizer=dict(METASPACE, prepend_scheme="first", split=False)),
        "gemma": gemma,
        "gemma-old": dict(gemma, pre_tokenizer=None),
        "t5": dict(t5, pre_tokenizer={"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, METASPACE]},
                   decoder=METASPACE),
        "unigram-bytes": dict(t5, model=dict(t5["model"], byte_fallback=True), pre_tokenizer=METASPACE,
                              decoder=SPM_DECODER),
    }
    out = {}
    for name, spec in specs.items():
        path = d / name / "tokenizer.json"
        path.parent.mkdir()
        path.write_text(json.dumps(spec, ensure_ascii=False))
        out[name] = (Tool(tool_bin("tokenize"), "--json", path), Tokenizer.from_file(str(path)))
    return out


@pytest.fixture(scope="module")
def texts():
    return english_lines(1500) + AWKWARD + ["<s>hello</s> world", " <s> x", "\u2581already\u2581marked \u2581"]


NAMES = ["llama2", "metaspace", "gemma", "gemma-old", "t5", "unigram-bytes"]


@pytest.mark.parametrize("name", NAMES)
def test_encode(variants, texts, name):
    tool, ref = variants[name]
    for special in (True, False):
        want = [e.ids for e in ref.encode_batch(texts, add_special_tokens=special)]
        assert_same(tool.encode(texts, special), want, texts, f"{name} ids (special {special})")


@pytest.mark.parametrize("name", NAMES)
def test_decode(variants, texts, name):
    tool, ref = variants[name]
    ids = [e.ids for e in ref.encode_batch(texts)] + random_id_lists(ref.get_vocab_size())
    for skip in (False, True):
        want = ref.decode_batch(ids, skip_special_tokens=skip)
        assert_same(tool.decode(ids, skip), want, ids, f"{name} decode (skip {skip})")


def test_byte_fallback_and_unknowns_are_exercised(variants, texts):
    """The comparison above means something only if the text reaches byte
    fallback (BPE) and unknowns (Unigram without it)."""
    _, llama = variants["llama2"]
    _, t5 = variants["t5"]
    bytes_used = sum(t.startswith("<0x") for e in llama.encode_batch(texts) for t in e.tokens)
    unknowns = sum(i == t5.token_to_id("<unk>") for e in t5.encode_batch(texts) for i in e.ids)
    print(f"byte tokens {bytes_used}, Unigram unknowns {unknowns}")
    assert bytes_used > 100 and unknowns > 50


# ---------------------------------------------------------------- GGUF vocabularies (tokenizer.ggml.model "llama")

def write_sentencepiece_gguf(model_file: pathlib.Path, path: pathlib.Path, architecture: str, merges: bool):
    """A GGUF holding the SentencePiece model's vocabulary the way llama.cpp's
    convert_hf_to_gguf.py (_set_vocab_sentencepiece) writes it: pieces, scores,
    token types (1 normal, 2 unknown, 3 control, 6 byte), special ids; and,
    when `merges`, a merge list too (files made from tokenizer.json have one)."""
    import gguf
    import sentencepiece
    sp = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    user_defined = {"<mask>"}
    types = [2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 6 if sp.is_byte(i)
             else 4 if p in user_defined else 1 for i, p in enumerate(pieces)]
    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(pieces)
    writer.add_token_scores([sp.get_score(i) for i in range(len(pieces))])
    writer.add_token_types(types)
    if merges:
        from transformers.tokenization_utils_base import generate_merges
        vocab = {p: i for i, p in enumerate(pieces)}
        writer.add_token_merges([f"{a} {b}" for a, b in generate_merges(vocab)])
    writer.add_bos_token_id(sp.bos_id())
    writer.add_eos_token_id(sp.eos_id())
    writer.add_unk_token_id(sp.unk_id())
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()


# llama: Metaspace; phi3: Prepend + Replace normalizers; gemma: GemmaTokenizer's
# shape with merges by position; llama with the file's own merges.
GGUF_CASES = [("llama", False), ("phi3", False), ("gemma2", False), ("llama", True)]


@pytest.mark.parametrize("architecture,merges", GGUF_CASES,
                         ids=[f"{a}{'-merges' if m else ''}" for a, m in GGUF_CASES])
def test_gguf_sentencepiece_vocabulary(tool_bin, tmp_path, texts, architecture, merges):
    from transformers import AutoTokenizer
    text = training_text(tmp_path)
    if architecture.startswith("gemma"):
        # Gemma's first five pieces, <mask> (4) included: GemmaTokenizer adds one past
        # the vocabulary when the file has none.
        model = spm_fixtures.train(text, tmp_path, "bpe", pad_id=0, eos_id=1, bos_id=2, unk_id=3,
                                   pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
                                   user_defined_symbols=["<mask>"])
    else:
        model = spm_fixtures.train(text, tmp_path, "bpe")
    write_sentencepiece_gguf(model, tmp_path / "vocab.gguf", architecture, merges)
    ref = AutoTokenizer.from_pretrained(tmp_path, gguf_file="vocab.gguf")
    tool = Tool(tool_bin("tokenize"), "--gguf", tmp_path / "vocab.gguf")
    ids = ref(texts)["input_ids"]
    assert_same(tool.encode(texts), ids, texts, f"{architecture} GGUF ids")
    ids += random_id_lists(len(ref))
    for skip in (False, True):
        want = [ref.decode(i, skip_special_tokens=skip) for i in ids]
        assert_same(tool.decode(ids, skip), want, ids, f"{architecture} GGUF decode (skip {skip})")
