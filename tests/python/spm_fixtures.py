"""SentencePiece vocabularies as tokenizer.json files, made the way real
checkpoints got theirs: `sentencepiece` trains a small model (BPE with byte
fallback, or unigram) on one text, and transformers' own converters
(transformers.convert_slow_tokenizer: LlamaConverter with legacy on and off,
GemmaConverter, T5Converter) turn it into the tokenizer.json a Llama-2 /
TinyLlama / Mistral / Phi-3, a Llama with legacy=False, a Gemma or a T5
checkpoint ships. The converters expect a slow tokenizer object; SpmTokenizer
gives them the few methods they call, from the SentencePiece model itself.
"""
import importlib
import pathlib

VOCAB_SIZE = 800


class SpmTokenizer:
    """The attributes and methods transformers' SpmConverter subclasses read."""

    def __init__(self, model_file: pathlib.Path, legacy: bool):
        import sentencepiece
        self.vocab_file = str(model_file)
        self.sp = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
        self.legacy = legacy
        self.add_prefix_space = None
        piece = lambda i: self.sp.id_to_piece(i) if i >= 0 else None
        self.pad_token, self.bos_token = piece(self.sp.pad_id()), piece(self.sp.bos_id())
        self.eos_token, self.unk_token = piece(self.sp.eos_id()), piece(self.sp.unk_id())
        self._extra_ids = 0

    def convert_ids_to_tokens(self, i):
        return self.sp.id_to_piece(i)

    def convert_tokens_to_ids(self, t):
        return self.sp.piece_to_id(t)


def train(text: pathlib.Path, out_dir: pathlib.Path, model_type: str, name: str = "", **options) -> pathlib.Path:
    """Returns a SentencePiece model of VOCAB_SIZE pieces trained on `text`
    (options: sentencepiece trainer options, e.g. the special pieces' ids)."""
    import sentencepiece
    prefix = out_dir / (name or model_type)
    options = dict(dict(unk_id=0, bos_id=1, eos_id=2, pad_id=3), **options)  # Llama's ids, and a pad
    sentencepiece.SentencePieceTrainer.train(
        input=str(text), model_prefix=str(prefix), vocab_size=VOCAB_SIZE, model_type=model_type,
        byte_fallback=True, character_coverage=0.9995, minloglevel=2, num_threads=1, **options)
    return prefix.with_suffix(".model")


class MergesFromScores:
    """The BPE merges of a SentencePiece model as transformers 4.x's
    SentencePieceExtractor derived them (every split of a piece into two
    pieces, ordered by the piece's score). transformers 5.23's own extractors
    fail on a BPE model (SentencePieceExtractor takes the scores for a model
    class; GemmaSentencePieceExtractor never loads its model)."""

    def __init__(self, model: str):
        import sentencepiece
        self.sp = sentencepiece.SentencePieceProcessor(model_file=model)

    def extract(self, vocab_scores=None):
        from transformers.tokenization_utils_base import generate_merges
        vocab = {self.sp.id_to_piece(i): i for i in range(self.sp.GetPieceSize())}
        return vocab, generate_merges(vocab, vocab_scores)


def convert(model_file: pathlib.Path, converter: str, legacy: bool, out: pathlib.Path) -> pathlib.Path:
    """Writes transformers' `converter` of the model to `out` (tokenizer.json)."""
    cst = importlib.import_module("transformers.convert_slow_tokenizer")
    cls = type(converter, (getattr(cst, converter),), {"SpmExtractor": MergesFromScores})
    tokenizer = cls(SpmTokenizer(model_file, legacy)).converted()
    tokenizer.save(str(out))
    return out
