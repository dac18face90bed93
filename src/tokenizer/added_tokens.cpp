// AddedTokenSplitter: the matching of tokenizers' added_vocabulary.rs
// (find_matches), including its lstrip / rstrip / single_word rules.
#include <algorithm>

#include "pipeline.h"
#include "wquant/tokenizer/unicode.h"

namespace wquant {
namespace {

// The code point that ends at byte `end` of valid UTF-8 `text` (end > 0).
char32_t code_point_before(std::string_view text, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (uint8_t(text[start]) & 0xC0) == 0x80) --start;
  return unicode::next_code_point(text, start);
}

// Rust's char::is_alphanumeric, approximated by the general categories L and
// N (it is the Alphabetic property, which also has some marks), or '_'.
bool is_word_char(char32_t c) {
  return c == U'_' || unicode::is_letter(c) || unicode::is_numeric(c);
}

// Returns where the white space that ends `text` starts.
size_t trailing_space_start(std::string_view text) {
  size_t end = text.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (uint8_t(text[start]) & 0xC0) == 0x80) --start;
    size_t pos = start;
    if (!unicode::is_white_space(unicode::next_code_point(text, pos))) break;
    end = start;
  }
  return end;
}

// Returns the length of the white space that starts `text`.
size_t leading_space_length(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t next = pos;
    if (!unicode::is_white_space(unicode::next_code_point(text, next))) break;
    pos = next;
  }
  return pos;
}

}  // namespace

AddedTokenSplitter::AddedTokenSplitter(std::vector<AddedToken> tokens)
    : tokens_(std::move(tokens)), by_first_byte_(256) {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (!tokens_[i].content.empty()) by_first_byte_[uint8_t(tokens_[i].content[0])].push_back(i);
  }
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(), [&](size_t a, size_t b) {
      return tokens_[a].content.size() > tokens_[b].content.size();
    });
  }
}

std::vector<Segment> AddedTokenSplitter::split(std::string_view text) const {
  std::vector<Segment> out;
  auto plain = [&](size_t start, size_t end) {
    if (end > start) out.push_back({text.substr(start, end - start), -1});
  };
  size_t done = 0;  // end of the last emitted segment
  for (size_t pos = 0; pos < text.size();) {
    const AddedToken* match = nullptr;
    for (size_t i : by_first_byte_[uint8_t(text[pos])]) {
      if (text.substr(pos).starts_with(tokens_[i].content)) {
        match = &tokens_[i];
        break;
      }
    }
    if (match == nullptr) {
      ++pos;
      continue;
    }
    size_t start = pos, stop = pos + match->content.size();
    pos = stop;  // matches never overlap, whatever is done with this one
    if (match->single_word) {
      const bool word_before = start > 0 && is_word_char(code_point_before(text, start));
      size_t after = stop;
      const bool word_after =
          stop < text.size() && is_word_char(unicode::next_code_point(text, after));
      if (word_before || word_after) continue;
    }
    if (match->lstrip) start = std::max(trailing_space_start(text.substr(0, start)), done);
    if (match->rstrip) stop += leading_space_length(text.substr(stop));
    plain(done, start);
    out.push_back({text.substr(start, stop - start), match->id});
    done = stop;
  }
  plain(done, text.size());
  return out;
}

}  // namespace wquant
