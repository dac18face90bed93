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

// One pre-tokenizer of a (possibly Sequence) pre_tokenizer.
struct PreTokenizerStep {
  enum class Kind { ByteLevel, Gpt2Split, Bert, Digits };
  Kind kind = Kind::ByteLevel;
  bool add_prefix_space = false;   // ByteLevel: prepend ' ' unless there is one
  bool use_regex = true;           // ByteLevel: split with GPT-2's regex first
  bool individual_digits = false;  // Digits
};

// One element of a post-processor's template for a single sequence: the
// encoded text itself, or fixed ids.
struct TemplatePart {
  bool is_sequence = false;
  std::vector<int32_t> ids;
};
using Template = std::vector<TemplatePart>;

enum class DecoderKind { None, ByteLevel, WordPiece };

struct PipelineConfig {
  PipelineConfig(std::string source_path, std::variant<BpeModel, WordPieceModel> tokenizer_model)
      : source(std::move(source_path)), model(std::move(tokenizer_model)) {}

  std::string source;  // file path, for messages
  std::variant<BpeModel, WordPieceModel> model;
  std::vector<AddedToken> added_tokens;
  std::optional<BertNormalizerOptions> normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;
  std::vector<Template> post_processor;  // applied in order; empty: none
  DecoderKind decoder = DecoderKind::None;
  std::string wordpiece_prefix = "##";
  bool wordpiece_cleanup = true;
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

// Returns the ByteLevel decoder's text for `tokens`: each token's characters
// mapped back to bytes (a token with any character outside the byte
// alphabet is taken as its UTF-8 bytes instead), then utf8_lossy.
std::string byte_level_decode(const std::vector<std::string>& tokens);

}  // namespace wquant
