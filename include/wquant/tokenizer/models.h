// Tokenizer models, as in the Hugging Face `tokenizers` package: they turn
// one pre-tokenized piece into token ids. Both take their vocabulary as a
// token -> id map (tokenizer.json's "vocab").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace wquant {

// Hash for heterogeneous lookup: a TokenMap can be searched with a
// string_view without building a std::string.
struct TokenHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, TokenHash, std::equal_to<>>;

struct BpeOptions {
  std::optional<std::string> unk_token;   // used for characters not in the vocabulary;
                                          // without one they are dropped
  bool fuse_unk = false;                  // consecutive unknowns give one unk_token
  bool ignore_merges = false;             // a piece in the vocabulary is one token
  std::string continuing_subword_prefix;  // prepended to every character but the first
  std::string end_of_word_suffix;         // appended to the last character
  bool byte_fallback = false;             // a character not in the vocabulary becomes
                                          // its UTF-8 bytes' "<0xXX>" tokens when all
                                          // of them are (SentencePiece vocabularies)
};

// Byte-pair encoding: a piece starts as its characters and the pair of
// adjacent symbols with the best (lowest) merge rank is merged, leftmost
// first among equals, until no pair has a merge (the algorithm of
// tokenizers' models/bpe/word.rs, so results agree even for unusual merge
// lists).
class BpeModel {
 public:
  // `merges` in rank order; a later duplicate of a pair replaces the earlier
  // one. Throws Error, prefixed with `source`, if a merge uses a token that
  // is not in the vocabulary or makes one that is not, or unk_token is not.
  BpeModel(TokenMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
           BpeOptions options, const std::string& source);

  // Appends the ids of `piece` (UTF-8) to `out`.
  void tokenize(std::string_view piece, std::vector<int32_t>& out) const;
  const TokenMap& vocab() const { return vocab_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  // byte_fallback: the "<0xXX>" ids of text's bytes, if all are in the vocabulary.
  bool byte_tokens(std::string_view text, std::vector<int32_t>& ids) const;
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
  }

  TokenMap vocab_;
  std::unordered_map<uint64_t, Merge> merges_;
  BpeOptions options_;
  std::optional<int32_t> unk_id_;
};

// Unigram (SentencePiece's unigram language model, T5 / ALBERT / XLNet):
// the segmentation of a piece into vocabulary entries with the highest sum of
// scores (Viterbi over code point boundaries; a code point no entry starts
// with scores min_score - 10 as unk), consecutive unknowns fused into one,
// then with byte_fallback an unknown becomes its bytes' "<0xXX>" tokens if
// all exist. Ties keep the first candidate in (start, length) order: the
// algorithm of tokenizers' models/unigram/model.rs (encode_optimized).
class UnigramModel {
 public:
  // `pieces` in id order with their scores. Throws Error, prefixed with
  // `source`, if unk_id is outside them or a piece repeats.
  UnigramModel(std::vector<std::pair<std::string, double>> pieces, std::optional<int32_t> unk_id,
               bool byte_fallback, const std::string& source);

  // Appends the ids of `piece` (UTF-8) to `out`.
  void tokenize(std::string_view piece, std::vector<int32_t>& out) const;
  const TokenMap& vocab() const { return vocab_; }

 private:
  TokenMap vocab_;
  std::vector<double> scores_;
  std::optional<int32_t> unk_id_;
  bool byte_fallback_ = false;
  double min_score_ = 0;
  size_t max_piece_bytes_ = 0;
};

// WordPiece (BERT): greedy longest-match-first; pieces after the first of a
// word carry the continuation prefix ("##"). A word that cannot be covered,
// or has more than max_input_chars_per_word code points, is one unk_token.
class WordPieceModel {
 public:
  // Throws Error, prefixed with `source`, if unk_token is not in the vocabulary.
  WordPieceModel(TokenMap vocab, const std::string& unk_token,
                 std::string continuing_subword_prefix, size_t max_input_chars_per_word,
                 const std::string& source);

  // Appends the ids of `word` (UTF-8) to `out`.
  void tokenize(std::string_view word, std::vector<int32_t>& out) const;
  const TokenMap& vocab() const { return vocab_; }

 private:
  TokenMap vocab_;
  int32_t unk_id_ = 0;
  std::string prefix_;
  size_t max_chars_ = 100;
};

}  // namespace wquant
