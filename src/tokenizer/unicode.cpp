// UTF-8 coding and the table lookups behind wquant/tokenizer/unicode.h.
#include "wquant/tokenizer/unicode.h"

#include <algorithm>

#include "unicode_tables.h"

namespace wquant::unicode {
namespace {

namespace tables = wquant::unicode_tables;

// The bytes a well-formed sequence starting with `lead` has after it, and the
// range its second byte must lie in (Unicode Table 3-7); need < 0: `lead`
// cannot start a sequence. The narrow second-byte ranges exclude overlong
// forms (E0, F0), surrogates (ED) and values past U+10FFFF (F4).
struct Lead {
  int need;
  uint8_t low;
  uint8_t high;
};

Lead lead_of(uint8_t b) {
  if (b < 0x80) return {0, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {1, 0x80, 0xBF};
  if (b == 0xE0) return {2, 0xA0, 0xBF};
  if (b == 0xED) return {2, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {2, 0x80, 0xBF};
  if (b == 0xF0) return {3, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {3, 0x80, 0xBF};
  if (b == 0xF4) return {3, 0x80, 0x8F};
  return {-1, 0, 0};
}

// Returns the length of the well-formed sequence at text[pos], or 0 if there
// is none; `maximal_subpart` gets the bytes to replace by one U+FFFD then.
size_t sequence_length(std::string_view text, size_t pos, size_t& maximal_subpart) {
  const Lead lead = lead_of(uint8_t(text[pos]));
  maximal_subpart = 1;
  if (lead.need < 0) return 0;
  for (int k = 1; k <= lead.need; ++k) {
    if (pos + k >= text.size()) return 0;
    const uint8_t b = uint8_t(text[pos + k]);
    const uint8_t low = k == 1 ? lead.low : 0x80, high = k == 1 ? lead.high : 0xBF;
    if (b < low || b > high) return 0;
    maximal_subpart = k + 1;
  }
  return size_t(lead.need) + 1;
}

bool in_ranges(std::span<const tables::CodePointRange> ranges, char32_t c) {
  auto it =
      std::upper_bound(ranges.begin(), ranges.end(), c,
                       [](char32_t v, const tables::CodePointRange& r) { return v < r.first; });
  return it != ranges.begin() && c <= std::prev(it)->last;
}

}  // namespace

size_t find_invalid_utf8(std::string_view text) {
  size_t pos = 0, subpart = 0;
  while (pos < text.size()) {
    const size_t n = sequence_length(text, pos, subpart);
    if (n == 0) return pos;
    pos += n;
  }
  return std::string_view::npos;
}

char32_t next_code_point(std::string_view text, size_t& pos) {
  const uint8_t b = uint8_t(text[pos]);
  if (b < 0x80) return text[pos++];
  const int extra = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1;
  char32_t c = b & (0x3F >> extra);
  for (int k = 1; k <= extra; ++k) c = (c << 6) | (uint8_t(text[pos + k]) & 0x3F);
  pos += extra + 1;
  return c;
}

std::u32string to_code_points(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) out.push_back(next_code_point(text, pos));
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(char(c));
  } else if (c < 0x800) {
    out.push_back(char(0xC0 | (c >> 6)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(char(0xE0 | (c >> 12)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (c >> 18)));
    out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  }
}

std::string to_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) append_utf8(out, c);
  return out;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0, subpart = 0;
  while (pos < bytes.size()) {
    const size_t n = sequence_length(bytes, pos, subpart);
    if (n > 0) {
      out.append(bytes.substr(pos, n));
      pos += n;
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD
      pos += subpart;
    }
  }
  return out;
}

bool is_letter(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return in_ranges(tables::kLetter, c);
}

bool is_number(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return in_ranges(tables::kNumber, c);
}

bool is_numeric(char32_t c) { return is_number(c) || in_ranges(tables::kNumericOnly, c); }

bool is_white_space(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= '\t' && c <= '\r');
  switch (c) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool is_bert_punctuation(char32_t c) {
  // ASCII: 33-47, 58-64, 91-96, 123-126 (Python's string.punctuation).
  if (c < 0x80)
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
           (c >= 123 && c <= 126);
  return in_ranges(tables::kPunctuation, c);
}

bool is_nonspacing_mark(char32_t c) { return c >= 0x300 && in_ranges(tables::kMark, c); }

bool is_bert_removed(char32_t c) { return in_ranges(tables::kRemoved, c); }

bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void append_lowercase(char32_t c, std::u32string& out) {
  if (c < 0x80) {
    out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  if (c == 0x130) {  // the one mapping to two code points (SpecialCasing.txt)
    out.append({U'i', 0x307});
    return;
  }
  const auto& runs = tables::kLowercase;
  auto it = std::upper_bound(runs.begin(), runs.end(), c,
                             [](char32_t v, const tables::LowercaseRun& r) { return v < r.first; });
  if (it != runs.begin()) {
    const auto& run = *std::prev(it);
    if (c <= run.last && (c - run.first) % run.stride == 0) {
      out.push_back(char32_t(int32_t(c) + run.delta));
      return;
    }
  }
  out.push_back(c);
}

void append_canonical_decomposition(char32_t c, std::u32string& out) {
  // Hangul syllables decompose arithmetically (Unicode 3.12): LV or LVT jamo.
  constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
  constexpr char32_t kTCount = 28, kNCount = 21 * 28, kSCount = 19 * 21 * 28;
  if (c >= kSBase && c < kSBase + kSCount) {
    const char32_t s = c - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (c < 0xC0) {  // nothing below U+00C0 decomposes
    out.push_back(c);
    return;
  }
  for (const auto& block : tables::kCjkBlock) {
    if (c >= block.first && c <= block.last) {
      const char32_t target = tables::kCjkTarget[block.offset + (c - block.first)];
      out.push_back(target != 0 ? target : c);
      return;
    }
  }
  const auto& table = tables::kDecomposition;
  auto it =
      std::lower_bound(table.begin(), table.end(), c,
                       [](const tables::Decomposition& d, char32_t v) { return d.code_point < v; });
  if (it == table.end() || it->code_point != c) {
    out.push_back(c);
    return;
  }
  append_canonical_decomposition(it->first, out);
  if (it->second != 0) append_canonical_decomposition(it->second, out);
}

}  // namespace wquant::unicode
