// BPE and WordPiece models: see wquant/tokenizer/models.h.
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

}  // namespace

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
  // The initial symbols: one per character, unknown characters as unk_token
  // (one for a run of them with fuse_unk) or dropped without one.
  std::vector<Symbol> symbols;
  std::string key;
  bool last_was_unk = false;
  for (size_t pos = 0; pos < piece.size();) {
    const size_t start = pos;
    unicode::next_code_point(piece, pos);
    key.clear();
    if (start > 0) key += options_.continuing_subword_prefix;
    key += piece.substr(start, pos - start);
    if (pos == piece.size()) key += options_.end_of_word_suffix;
    auto it = vocab_.find(key);
    const bool unknown = it == vocab_.end();
    if (unknown && (!unk_id_ || (options_.fuse_unk && last_was_unk))) continue;
    const int32_t n = int32_t(symbols.size());
    symbols.push_back({unknown ? *unk_id_ : it->second, n - 1, n + 1});
    last_was_unk = unknown;
  }
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
