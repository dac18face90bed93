// BPE and WordPiece models: see wquant/tokenizer/models.h.
#include <algorithm>
#include <cmath>
#include <queue>

#include "wquant/core/error.h"
#include "wquant/tokenizer/models.h"
#include "wquant/tokenizer/unicode.h"

namespace wquant {
namespace {

// A symbol of the word being merged: a token id in a doubly linked list over
// the initial characters (merged-away symbols stay in place, marked dead).
struct Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
  bool dead = false;
};

// A candidate merge of the symbol at `pos` with the next live one. The queue
// pops the lowest rank first and, among equal ranks, the leftmost.
struct Candidate {
  int32_t rank;
  int32_t pos;
  int32_t new_id;
  bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

// Sets ids to the "<0xXX>" tokens of text's bytes and returns true if the
// vocabulary has all of them (tokenizers: format!("<{b:#04X}>"), "<0x0A>").
bool byte_tokens_of(const TokenMap& vocab, std::string_view text, std::vector<int32_t>& ids) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  ids.clear();
  std::string name = "<0x00>";
  for (unsigned char b : text) {
    name[3] = kHex[b >> 4], name[4] = kHex[b & 15];
    auto it = vocab.find(name);
    if (it == vocab.end()) return false;
    ids.push_back(it->second);
  }
  return true;
}

}  // namespace

bool BpeModel::byte_tokens(std::string_view text, std::vector<int32_t>& ids) const {
  return byte_tokens_of(vocab_, text, ids);
}

BpeModel::BpeModel(TokenMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options, const std::string& source)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  auto id_of = [&](const std::string& token, size_t rank, const char* role) {
    auto it = vocab_.find(token);
    if (it == vocab_.end())
      fail(source, ": merge ", rank, " ", role, " \"", token, "\", which is not in the vocabulary");
    return it->second;
  };
  const std::string& prefix = options_.continuing_subword_prefix;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    // The merged token drops b's continuation prefix: "un" + "##able" -> "unable".
    const std::string b_rest =
        !prefix.empty() && b.starts_with(prefix) ? b.substr(prefix.size()) : b;
    const int32_t left = id_of(a, rank, "uses"), right = id_of(b, rank, "uses");
    const int32_t merged = id_of(a + b_rest, rank, "makes");
    merges_[pair_key(left, right)] = {int32_t(rank), merged};
  }
  if (options_.unk_token) {
    auto it = vocab_.find(*options_.unk_token);
    if (it == vocab_.end())
      fail(source, ": unk_token \"", *options_.unk_token, "\" is not in the vocabulary");
    unk_id_ = it->second;
  }
}

void BpeModel::tokenize(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  if (options_.ignore_merges) {
    if (auto it = vocab_.find(piece); it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  // The initial symbols: one per character; an unknown character as its
  // bytes' tokens (byte_fallback), else as unk_token (one for a run of them
  // with fuse_unk) or dropped without one. As in tokenizers' merge_word, a
  // pending unk_token is only added before the next known character (or at
  // the end), so byte tokens can come before it.
  std::vector<Symbol> symbols;
  auto add = [&](int32_t id) {
    const int32_t n = int32_t(symbols.size());
    symbols.push_back({id, n - 1, n + 1});
  };
  std::string key;
  bool unk_pending = false;
  std::vector<int32_t> bytes;
  for (size_t pos = 0; pos < piece.size();) {
    const size_t start = pos;
    unicode::next_code_point(piece, pos);
    key.clear();
    if (start > 0) key += options_.continuing_subword_prefix;
    key += piece.substr(start, pos - start);
    if (pos == piece.size()) key += options_.end_of_word_suffix;
    if (auto it = vocab_.find(key); it != vocab_.end()) {
      if (unk_pending) add(*unk_id_), unk_pending = false;
      add(it->second);
      continue;
    }
    if (options_.byte_fallback && byte_tokens(key, bytes)) {
      for (int32_t id : bytes) add(id);
      continue;
    }
    if (!unk_id_) continue;
    if (unk_pending && !options_.fuse_unk) add(*unk_id_);
    unk_pending = true;
  }
  if (unk_pending) add(*unk_id_);
  if (symbols.empty()) return;
  symbols.back().next = -1;

  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push_pair = [&](int32_t pos) {
    const int32_t next = symbols[pos].next;
    if (next < 0) return;
    auto it = merges_.find(pair_key(symbols[pos].id, symbols[next].id));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.new_id});
  };
  for (int32_t i = 0; i + 1 < int32_t(symbols.size()); ++i) push_pair(i);

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.dead || left.next < 0) continue;
    // Skip stale candidates: one side changed since this one was queued.
    auto it = merges_.find(pair_key(left.id, symbols[left.next].id));
    if (it == merges_.end() || it->second.new_id != top.new_id) continue;
    Symbol& right = symbols[left.next];
    right.dead = true;
    left.id = top.new_id;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (const Symbol& s : symbols) {
    if (!s.dead) out.push_back(s.id);
  }
}

WordPieceModel::WordPieceModel(TokenMap vocab, const std::string& unk_token, std::string prefix,
                               size_t max_input_chars_per_word, const std::string& source)
    : vocab_(std::move(vocab)), prefix_(std::move(prefix)), max_chars_(max_input_chars_per_word) {
  auto it = vocab_.find(unk_token);
  if (it == vocab_.end()) fail(source, ": unk_token \"", unk_token, "\" is not in the vocabulary");
  unk_id_ = it->second;
}

void WordPieceModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  // Byte offset of every code point boundary, to shorten candidates by one
  // code point at a time.
  std::vector<size_t> bounds;
  for (size_t pos = 0; pos < word.size(); unicode::next_code_point(word, pos))
    bounds.push_back(pos);
  bounds.push_back(word.size());
  if (bounds.size() - 1 > max_chars_) {
    out.push_back(unk_id_);
    return;
  }
  const size_t first_out = out.size();
  std::string candidate;
  for (size_t start = 0; start + 1 < bounds.size();) {
    size_t end = bounds.size() - 1;  // index into bounds
    for (; end > start; --end) {
      candidate.assign(start > 0 ? prefix_ : std::string());
      candidate += word.substr(bounds[start], bounds[end] - bounds[start]);
      if (auto it = vocab_.find(candidate); it != vocab_.end()) {
        out.push_back(it->second);
        break;
      }
    }
    if (end == start) {  // no prefix of the rest is in the vocabulary
      out.resize(first_out);
      out.push_back(unk_id_);
      return;
    }
    start = end;
  }
}

}  // namespace wquant

namespace wquant {

UnigramModel::UnigramModel(std::vector<std::pair<std::string, double>> pieces,
                           std::optional<int32_t> unk_id, bool byte_fallback, const std::string& source)
    : unk_id_(unk_id), byte_fallback_(byte_fallback) {
  if (unk_id && (*unk_id < 0 || size_t(*unk_id) >= pieces.size()))
    fail(source, ": Unigram unk_id ", *unk_id, " is outside its ", pieces.size(), " pieces");
  scores_.reserve(pieces.size());
  for (size_t id = 0; id < pieces.size(); ++id) {
    auto& [piece, score] = pieces[id];
    if (!std::isfinite(score)) fail(source, ": Unigram piece ", id, " has score ", score);
    if (!vocab_.emplace(piece, int32_t(id)).second)
      fail(source, ": Unigram piece \"", printable(piece), "\" appears twice");
    scores_.push_back(score);
    min_score_ = id == 0 ? score : std::min(min_score_, score);
    max_piece_bytes_ = std::max(max_piece_bytes_, piece.size());
  }
}

void UnigramModel::tokenize(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  // best[e]: the best segmentation of text[0, e): its score, the start of its
  // last entry (npos: none yet) and that entry's id.
  struct Node {
    double score = 0;
    size_t start = std::string_view::npos;
    int32_t id = -1;
  };
  constexpr double kUnkPenalty = 10.0;
  const double unk_score = min_score_ - kUnkPenalty;
  std::vector<Node> best(text.size() + 1);
  for (size_t start = 0; start < text.size();) {
    size_t next = start;
    unicode::next_code_point(text, next);
    const double here = best[start].score;
    bool single = false;  // an entry covers exactly this code point
    const size_t longest = std::min(max_piece_bytes_, text.size() - start);
    for (size_t len = 1; len <= longest; ++len) {
      auto it = vocab_.find(text.substr(start, len));
      if (it == vocab_.end()) continue;
      Node& node = best[start + len];
      const double score = here + scores_[size_t(it->second)];
      if (node.start == std::string_view::npos || score > node.score) node = {score, start, it->second};
      single |= start + len == next;
    }
    if (!single) {
      Node& node = best[next];
      const double score = here + unk_score;
      if (node.start == std::string_view::npos || score > node.score)
        node = {score, start, unk_id_.value_or(-1)};
    }
    start = next;
  }
  // Back from the end: the entries, runs of unknowns fused into one string.
  std::vector<std::string_view> parts;
  size_t unk_end = std::string_view::npos;
  for (size_t end = text.size(); end > 0;) {
    const Node& node = best[end];
    const bool unknown = node.id < 0 || (unk_id_ && node.id == *unk_id_);
    if (unknown && unk_id_) {
      if (unk_end == std::string_view::npos) unk_end = end;
    } else {
      if (unk_end != std::string_view::npos) parts.push_back(text.substr(end, unk_end - end));
      unk_end = std::string_view::npos;
      parts.push_back(text.substr(node.start, end - node.start));
    }
    end = node.start;
  }
  if (unk_end != std::string_view::npos) parts.push_back(text.substr(0, unk_end));
  std::vector<int32_t> bytes;
  for (auto part = parts.rbegin(); part != parts.rend(); ++part) {
    if (auto it = vocab_.find(*part); it != vocab_.end()) {
      out.push_back(it->second);
    } else if (byte_fallback_ && byte_tokens_of(vocab_, *part, bytes)) {
      out.insert(out.end(), bytes.begin(), bytes.end());
    } else if (unk_id_) {
      out.push_back(*unk_id_);
    }
  }
}

}  // namespace wquant
