// BertNormalizer, as in the Hugging Face `tokenizers` package: the text
// clean-up BERT's tokenizer applies before splitting.
#pragma once

#include <string>
#include <string_view>

namespace wquant {

// The options of tokenizer.json's {"type": "BertNormalizer", ...}; a null
// strip_accents there means "same as lowercase".
struct BertNormalizerOptions {
  bool clean_text = true;            // drop controls, map white space to ' '
  bool handle_chinese_chars = true;  // put spaces around CJK ideographs
  bool strip_accents = true;         // NFD, then drop nonspacing marks (Mn)
  bool lowercase = true;
};

// Returns `text` (valid UTF-8) normalized by the steps enabled in `options`,
// in the order clean_text, handle_chinese_chars, strip_accents, lowercase.
// Each step works code point by code point; the one departure from
// `tokenizers` is that NFD's canonical reordering of combining marks is not
// done. It can only matter when two adjacent marks of different combining
// classes both survive strip_accents, i.e. neither is Mn (Mc marks, or marks
// that became Mn after Unicode 9), which no real text of ours contains.
std::string bert_normalize(std::string_view text, const BertNormalizerOptions& options);

}  // namespace wquant
