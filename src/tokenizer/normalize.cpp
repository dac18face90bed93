// BertNormalizer: see wquant/tokenizer/normalize.h.
#include "wquant/tokenizer/normalize.h"

#include "wquant/tokenizer/unicode.h"

namespace wquant {

std::string bert_normalize(std::string_view text, const BertNormalizerOptions& options) {
  std::u32string chars = unicode::to_code_points(text), next;
  next.reserve(chars.size());
  // Each step rewrites `chars` through `next`; a step sees all of the
  // previous one's output (strip_accents before lowercase matters for
  // U+0130, whose lowercase would otherwise keep its combining dot).
  auto step = [&](auto&& rewrite) {
    next.clear();
    for (char32_t c : chars) rewrite(c);
    chars.swap(next);
  };
  if (options.clean_text) {
    step([&](char32_t c) {
      if (unicode::is_bert_removed(c)) return;
      next.push_back(unicode::is_white_space(c) ? U' ' : c);
    });
  }
  if (options.handle_chinese_chars) {
    step([&](char32_t c) {
      if (unicode::is_cjk_ideograph(c)) {
        next.append({U' ', c, U' '});
      } else {
        next.push_back(c);
      }
    });
  }
  if (options.strip_accents) {
    std::u32string parts;
    step([&](char32_t c) {
      parts.clear();
      unicode::append_canonical_decomposition(c, parts);
      for (char32_t p : parts) {
        if (!unicode::is_nonspacing_mark(p)) next.push_back(p);
      }
    });
  }
  if (options.lowercase) {
    step([&](char32_t c) { unicode::append_lowercase(c, next); });
  }
  return unicode::to_utf8(chars);
}

}  // namespace wquant
