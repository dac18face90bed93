// Internal: the one Tokenizer implementation, a pipeline of the stages of
// the Hugging Face `tokenizers` package (added tokens, normalizer,
// pre-tokenizer, model, post-processor, decoder), and the description of
// one that the loaders (load_json.cpp, load_gguf.cpp) fill in.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "wquant/tokenizer/models.h"
#include "wquant/tokenizer/normalize.h"
#include "wquant/tokenizer/tokenizer.h"

namespace wquant {

// A token matched whole in the input text before anything else happens.
struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;      // skipped by decode(skip_special_tokens)
  bool normalized = false;   // matched in normalized text, not in the raw text
  bool lstrip = false;       // swallows the white space before it
  bool rstrip = false;       // swallows the white space after it
  bool single_word = false;  // only matches between word boundaries
};

// A part of the text: plain text (id < 0) or one added token.
struct Segment {
  std::string_view text;
  int32_t id = -1;
};

// Finds added tokens in text, leftmost first and longest among those
// starting at the same place (Aho-Corasick LeftmostLongest in `tokenizers`).
class AddedTokenSplitter {
 public:
  explicit AddedTokenSplitter(std::vector<AddedToken> tokens);
  // Returns `text` cut into plain text and added tokens, in order; empty
  // plain segments are left out.
  std::vector<Segment> split(std::string_view text) const;

 private:
  std::vector<AddedToken> tokens_;
  std::vector<std::vector<size_t>> by_first_byte_;  // token indices, longest first
};

// One normalizer of a (possibly Sequence) normalizer.
struct NormalizerStep {
  enum class Kind { Bert, Prepend, Replace };
  Kind kind = Kind::Bert;
  BertNormalizerOptions bert;  // Bert
  std::string from;            // Replace: every occurrence of `from` ...
  std::string to;              // ... becomes `to`; Prepend: put before non-empty text
};

// Metaspace's prepend_scheme: when to put the replacement before a piece
// that does not start with it (first: only a piece at the start of the input).
enum class PrependScheme { Always, First, Never };

// One pre-tokenizer of a (possibly Sequence) pre_tokenizer.
struct PreTokenizerStep {
  enum class Kind { ByteLevel, Gpt2Split, Bert, Digits, Metaspace, WhitespaceSplit, SplitAfter };
  Kind kind = Kind::ByteLevel;
  bool add_prefix_space = false;   // ByteLevel: prepend ' ' unless there is one
  bool use_regex = true;           // ByteLevel: split with GPT-2's regex first
  bool individual_digits = false;  // Digits
  std::string text;                // Metaspace: the replacement for ' ' ("\u2581");
                                   // SplitAfter: the delimiter, kept at the end of
                                   // each piece (Split, MergedWithPrevious)
  PrependScheme prepend = PrependScheme::Always;  // Metaspace
  bool split = true;               // Metaspace: pieces start at each replacement
};

// One element of a post-processor's template for a single sequence: the
// encoded text itself, or fixed ids.
struct TemplatePart {
  bool is_sequence = false;
  std::vector<int32_t> ids;
};
using Template = std::vector<TemplatePart>;

// One decoder of a (possibly Sequence) decoder: each turns the list of token
// strings into another, as tokenizers' decode_chain; decode() joins the last.
struct DecoderStep {
  enum class Kind { ByteLevel, WordPiece, Replace, ByteFallback, Fuse, Strip, Metaspace };
  Kind kind = Kind::ByteLevel;
  std::string from, to;          // Replace; Metaspace: from = the replacement
  std::string prefix = "##";     // WordPiece
  bool cleanup = true;           // WordPiece
  std::string strip;             // Strip: the character removed ...
  size_t start = 0, stop = 0;    // ... at most this many times at each token's start / end
  PrependScheme prepend = PrependScheme::Always;  // Metaspace
};

using TokenizerModel = std::variant<BpeModel, WordPieceModel, UnigramModel>;

struct PipelineConfig {
  PipelineConfig(std::string source_path, TokenizerModel tokenizer_model)
      : source(std::move(source_path)), model(std::move(tokenizer_model)) {}

  std::string source;  // file path, for messages
  TokenizerModel model;
  std::vector<AddedToken> added_tokens;
  std::vector<NormalizerStep> normalizer;    // applied in order; empty: none
  std::vector<PreTokenizerStep> pre_tokenizer;
  std::vector<Template> post_processor;  // applied in order; empty: none
  std::vector<DecoderStep> decoder;      // empty: tokens joined by spaces
  std::optional<int32_t> bos_id;
  std::optional<int32_t> eos_id;
};

std::unique_ptr<Tokenizer> make_pipeline_tokenizer(PipelineConfig config);

// Returns the pipeline a parsed tokenizer.json describes, with the bos / eos
// ids of the tokens a parsed tokenizer_config.json names (null: none).
// `path` names the source in messages. Throws Error naming it for content
// that is malformed or not supported.
PipelineConfig pipeline_config_from_json(const nlohmann::json& tokenizer,
                                         const nlohmann::json& tokenizer_config,
                                         const std::string& path);

// Returns the tokens of the WordPiece decoder for `tokens`, joined: a space
// before every token but the first, except "##" continuations, and with
// cleanup the space before . , ? ! and English contractions dropped, token
// by token, as tokenizers' decoders/wordpiece.rs does.
std::string wordpiece_decode(const std::vector<std::string>& tokens, const std::string& prefix,
                             bool cleanup);

// Returns text with every occurrence of `from` replaced by `to`.
std::string replace_all(std::string_view text, std::string_view from, std::string_view to);

// Returns token after the Strip decoder `step`.
std::string strip_token(const std::string& token, const DecoderStep& step);

// Returns tokens after ByteFallback: each run of "<0xXX>" tokens becomes the
// string its bytes spell, or one U+FFFD per byte if they are not valid UTF-8.
std::vector<std::string> byte_fallback_decode(const std::vector<std::string>& tokens);

// Returns the ByteLevel decoder's text for `tokens`: each token's characters
// mapped back to bytes (a token with any character outside the byte
// alphabet is taken as its UTF-8 bytes instead), then utf8_lossy.
std::string byte_level_decode(const std::vector<std::string>& tokens);

}  // namespace wquant
