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
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
  }

  TokenMap vocab_;
  std::unordered_map<uint64_t, Merge> merges_;
  BpeOptions options_;
  std::optional<int32_t> unk_id_;
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
