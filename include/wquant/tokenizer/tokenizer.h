// Text <-> token ids for the runtime, matching the Hugging Face `tokenizers`
// package id for id (tests/python/test_tokenizer_oracle.py checks it).
//
// Supported, from a tokenizer.json:
//   model          BPE (byte-level, as GPT-2 / SmolLM2; no byte_fallback or
//                  dropout), WordPiece (BERT)
//   normalizer     none, BertNormalizer
//   pre_tokenizer  ByteLevel, BertPreTokenizer, Digits, Split with GPT-2's
//                  regex (behavior Isolated), or a Sequence of those
//   post_processor none, TemplateProcessing, BertProcessing,
//                  RobertaProcessing, ByteLevel, or a Sequence of those
//   decoder        none, ByteLevel, WordPiece
//   added_tokens   all options (special, normalized, lstrip, rstrip, single_word)
// and from GGUF metadata (tokenizer.ggml.model "gpt2"), built as transformers
// builds it from the same file (transformers/integrations/gguf).
// Anything else is an Error naming the file and the unsupported part.
// Truncation and padding in tokenizer.json are ignored: they are batching
// concerns of the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wquant {

class GgufFile;

// A loaded tokenizer is immutable: encode and decode may run concurrently.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Returns the token ids of `text` (UTF-8): added tokens such as
  // <|im_start|> or [SEP] written in the text become their ids, the rest is
  // normalized, pre-tokenized and run through the model; with
  // add_special_tokens the post-processor's template is applied ([CLS] ...
  // [SEP] for BERT). Throws Error if `text` is not valid UTF-8.
  virtual std::vector<int32_t> encode(std::string_view text,
                                      bool add_special_tokens = true) const = 0;

  // Returns the text of `ids`, leaving out special tokens if
  // skip_special_tokens. Ids with no token are skipped, and byte sequences
  // that are not valid UTF-8 become U+FFFD, as in `tokenizers`.
  virtual std::string decode(std::span<const int32_t> ids,
                             bool skip_special_tokens = false) const = 0;

  // Returns the id of a token as spelled in the vocabulary (byte-level
  // vocabularies spell a space 'Ġ'), added tokens included, or nullopt.
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  // Returns the token of an id as spelled in the vocabulary, or nullopt.
  virtual std::optional<std::string> id_to_token(int32_t id) const = 0;
  // Returns true for the ids of special added tokens (those decode skips).
  virtual bool is_special(int32_t id) const = 0;

  // Returns the beginning / end of sequence ids, or nullopt when the file
  // does not name them (tokenizer.json: from a tokenizer_config.json next to
  // it; GGUF: tokenizer.ggml.bos_token_id / eos_token_id).
  virtual std::optional<int32_t> bos_id() const = 0;
  virtual std::optional<int32_t> eos_id() const = 0;

  // Returns the number of ids: one more than the largest id of the model's
  // vocabulary and the added tokens.
  virtual size_t vocab_size() const = 0;

  // The first two pipeline stages on their own, for tests and debugging.
  // Returns `text` (UTF-8) after the normalizer (unchanged if there is none).
  virtual std::string normalize(std::string_view text) const = 0;
  // Returns the pieces the pre-tokenizer makes of normalized text, as the
  // model sees them (byte-level pieces spelled in the byte alphabet).
  virtual std::vector<std::string> pre_tokenize(std::string_view normalized) const = 0;
};

// Returns the tokenizer described by a Hugging Face tokenizer.json. Throws
// Error naming the file and the problem if it cannot be read, is not JSON,
// or uses a model or component not supported above.
std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& path);

// Returns the tokenizer described by a GGUF file's tokenizer.ggml.* metadata:
// tokens, merges, token_type (control tokens become special added tokens,
// user-defined ones plain added tokens), bos / eos / unk / padding ids (special
// added tokens too), add_bos_token / add_eos_token. It is loaded from the
// tokenizer.json that gguf_tokenizer_files (gguf_vocab.h) builds. The pre-tokenizer is GPT-2's regex for every
// tokenizer.ggml.pre that transformers treats so ("smollm", "gpt-2", ...);
// llama.cpp instead isolates every numeric character first for "smollm"
// (as SmolLM2's own tokenizer.json does); for SmolLM2's vocabulary that
// changes nothing for ASCII digits, which no merge involves, but can for
// other numerals ("²³", "Ⅻ").
// Throws Error naming the file for missing or inconsistent metadata, or a
// tokenizer.ggml.model other than "gpt2".
std::unique_ptr<Tokenizer> load_gguf_tokenizer(const GgufFile& gguf);

// Returns the tokenizer that goes with the model at `model` (a model
// directory, .safetensors or .gguf): `tokenizer` if not empty (a
// tokenizer.json or a .gguf), else tokenizer.json next to the model, else
// the vocabulary of the model's GGUF file (the file itself, or the only
// .gguf in the directory). Throws Error naming the model if there is none.
std::unique_ptr<Tokenizer> open_tokenizer(const std::string& model, const std::string& tokenizer = "");

}  // namespace wquant
