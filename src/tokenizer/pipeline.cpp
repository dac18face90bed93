// PipelineTokenizer: the stages of tokenizers' Tokenizer::encode / decode
// (tokenizer/mod.rs) in the same order, so that ids agree exactly.
#include "pipeline.h"

#include <algorithm>
#include <unordered_set>

#include "wquant/core/error.h"
#include "wquant/tokenizer/pre_tokenize.h"
#include "wquant/tokenizer/unicode.h"

namespace wquant {
namespace {

// Ids index a table, so a corrupt file must not make one absurdly large;
// real vocabularies stay below a million.
constexpr int32_t kMaxId = 1 << 24;

class PipelineTokenizer final : public Tokenizer {
 public:
  explicit PipelineTokenizer(PipelineConfig config)
      : config_(std::move(config)),
        raw_tokens_(select_added(false)),
        normalized_tokens_(select_added(true)) {
    const TokenMap& vocab =
        std::visit([](const auto& m) -> const TokenMap& { return m.vocab(); }, config_.model);
    int32_t max_id = -1;
    auto check_id = [&](const std::string& token, int32_t id) {
      if (id < 0 || id >= kMaxId)
        fail(config_.source, ": token \"", token, "\" has id ", id, ", outside [0, ", kMaxId, ")");
      max_id = std::max(max_id, id);
    };
    for (const auto& [token, id] : vocab) check_id(token, id);
    for (const AddedToken& t : config_.added_tokens) check_id(t.content, t.id);
    id_to_token_.resize(size_t(max_id + 1));
    for (const auto& [token, id] : vocab) id_to_token_[id] = token;
    // Added tokens take precedence over the model's vocabulary, both ways.
    // As in `tokenizers`, a normalized added token decodes as its normalized
    // content, which is then not recognised as special (a quirk kept for
    // identical output).
    for (const AddedToken& t : config_.added_tokens) {
      id_to_token_[t.id] = t.normalized ? normalize(t.content) : t.content;
      added_ids_.emplace(t.content, t.id);
      if (t.special) special_.insert(t.content);
    }
  }

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const override {
    if (size_t bad = unicode::find_invalid_utf8(text); bad != std::string_view::npos) {
      fail(config_.source, ": text to encode is not valid UTF-8 (byte ", bad, ")");
    }
    std::vector<int32_t> ids;
    // Added tokens are cut out of the raw text first; each piece between them
    // is normalized on its own, then cut at the normalized added tokens.
    for (const Segment& raw : raw_tokens_.split(text)) {
      if (raw.id >= 0) {
        ids.push_back(raw.id);
        continue;
      }
      const std::string normalized = normalize(raw.text);
      for (const Segment& seg : normalized_tokens_.split(normalized)) {
        if (seg.id >= 0) {
          ids.push_back(seg.id);
          continue;
        }
        // Metaspace's "first" scheme needs to know if this text starts the input.
        const bool at_start = raw.text.data() == text.data() && seg.text.data() == normalized.data();
        for (const std::string& piece : pre_tokenize(seg.text, at_start)) {
          std::visit([&](const auto& model) { model.tokenize(piece, ids); }, config_.model);
        }
      }
    }
    if (add_special_tokens) {
      for (const Template& t : config_.post_processor) ids = apply(t, ids);
    }
    return ids;
  }

  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const override {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
      if (id < 0 || size_t(id) >= id_to_token_.size() || !id_to_token_[id]) continue;
      const std::string& token = *id_to_token_[id];
      if (skip_special_tokens && special_.contains(token)) continue;
      tokens.push_back(token);
    }
    std::string out;
    if (config_.decoder.empty()) {  // tokenizers without a decoder: joined by spaces
      for (size_t i = 0; i < tokens.size(); ++i) out += (i > 0 ? " " : "") + tokens[i];
      return out;
    }
    for (const DecoderStep& step : config_.decoder) tokens = decode_step(step, std::move(tokens));
    for (const std::string& t : tokens) out += t;
    return out;
  }

  std::optional<int32_t> token_to_id(std::string_view token) const override {
    if (auto it = added_ids_.find(token); it != added_ids_.end()) return it->second;
    const TokenMap& vocab =
        std::visit([](const auto& m) -> const TokenMap& { return m.vocab(); }, config_.model);
    if (auto it = vocab.find(token); it != vocab.end()) return it->second;
    return std::nullopt;
  }

  std::optional<std::string> id_to_token(int32_t id) const override {
    if (id < 0 || size_t(id) >= id_to_token_.size()) return std::nullopt;
    return id_to_token_[id];
  }

  bool is_special(int32_t id) const override {
    auto token = id_to_token(id);
    return token && special_.contains(*token);
  }

  std::optional<int32_t> bos_id() const override { return config_.bos_id; }
  std::optional<int32_t> eos_id() const override { return config_.eos_id; }
  size_t vocab_size() const override { return id_to_token_.size(); }

  std::string normalize(std::string_view text) const override {
    std::string out(text);
    for (const NormalizerStep& step : config_.normalizer) {
      check_growth(text.size(), out.size(), "normalizer");
      switch (step.kind) {
        case NormalizerStep::Kind::Bert:
          out = bert_normalize(out, step.bert);
          break;
        case NormalizerStep::Kind::Prepend:
          if (!out.empty()) out.insert(0, step.to);
          break;
        case NormalizerStep::Kind::Replace:
          out = replace_all(out, step.from, step.to);
          break;
      }
    }
    check_growth(text.size(), out.size(), "normalizer");
    return out;
  }

  std::vector<std::string> pre_tokenize(std::string_view normalized) const override {
    return pre_tokenize(normalized, true);
  }

 private:
  AddedTokenSplitter select_added(bool normalized) const {
    std::vector<AddedToken> chosen;
    for (AddedToken t : config_.added_tokens) {
      if (t.normalized != normalized) continue;
      // A normalized token is looked for in normalized text, so as normalized.
      if (normalized) t.content = normalize(t.content);
      chosen.push_back(std::move(t));
    }
    return AddedTokenSplitter(std::move(chosen));
  }

  // Refuses steps that multiply the text (a Replace whose content holds its
  // pattern, chained): real normalizers and pre-tokenizers grow a text by a
  // small factor (NFKC at most 18 code points for one, Metaspace's "\u2581"
  // 3 bytes for a space); past 64x + 4 KiB the tokenizer is hostile, and
  // running it would take time and memory without bound (found by
  // fuzz_tokenizer_json: chained Metaspace replacements, 32 s on one text).
  void check_growth(size_t in_bytes, size_t out_bytes, const char* stage) const {
    const size_t limit = 64 * in_bytes + 4096;
    if (out_bytes > limit)
      fail(config_.source, ": the ", stage, " grows a text of ", in_bytes, " bytes past ", limit,
           " bytes (64x + 4096): refusing a tokenizer whose steps multiply the text");
  }

  // A piece, and whether it starts the input (Metaspace's "first" scheme).
  struct Piece {
    std::string text;
    bool at_start = false;
  };

  // The pieces of `normalized` after every pre-tokenizer step; empty pieces
  // are dropped after each step, as tokenizers' PreTokenizedString::split does.
  std::vector<std::string> pre_tokenize(std::string_view normalized, bool at_start) const {
    std::vector<Piece> pieces{{std::string(normalized), at_start}}, next;
    for (const PreTokenizerStep& step : config_.pre_tokenizer) {
      next.clear();
      size_t bytes = 0;
      for (const Piece& piece : pieces) {
        if (!piece.text.empty()) run_step(step, piece, next);
        bytes += piece.text.size();
        check_growth(normalized.size(), bytes, "pre-tokenizer");
      }
      pieces.swap(next);
    }
    size_t bytes = 0;
    for (const Piece& p : pieces) bytes += p.text.size();
    check_growth(normalized.size(), bytes, "pre-tokenizer");
    std::vector<std::string> out;
    for (Piece& p : pieces) {
      if (!p.text.empty()) out.push_back(std::move(p.text));
    }
    return out;
  }

  static void run_step(const PreTokenizerStep& step, const Piece& in, std::vector<Piece>& out) {
    const std::string& piece = in.text;
    // Views into `piece`: the one at its start keeps its at_start.
    auto append = [&](const std::vector<std::string_view>& parts) {
      for (std::string_view p : parts) out.push_back({std::string(p), in.at_start && p.data() == piece.data()});
    };
    switch (step.kind) {
      case PreTokenizerStep::Kind::Metaspace: {
        std::string text = replace_all(piece, " ", step.text);
        const bool prepend = step.prepend == PrependScheme::Always ||
                             (step.prepend == PrependScheme::First && in.at_start);
        if (prepend && !text.starts_with(step.text)) text.insert(0, step.text);
        if (!step.split) return out.push_back({std::move(text), in.at_start});
        // Each replacement starts a piece (MergedWithNext).
        size_t begin = 0;
        for (size_t at = text.find(step.text, 1); at != std::string::npos; at = text.find(step.text, at + 1)) {
          if (at > begin) out.push_back({text.substr(begin, at - begin), in.at_start && begin == 0});
          begin = at;
        }
        return out.push_back({text.substr(begin), in.at_start && begin == 0});
      }
      case PreTokenizerStep::Kind::SplitAfter:
        return append(split_after(piece, step.text));
      case PreTokenizerStep::Kind::WhitespaceSplit:
        return append(split_white_space(piece));
      case PreTokenizerStep::Kind::Gpt2Split:
        return append(split_gpt2(piece));
      case PreTokenizerStep::Kind::Bert:
        return append(split_bert(piece));
      case PreTokenizerStep::Kind::Digits:
        return append(split_digits(piece, step.individual_digits));
      case PreTokenizerStep::Kind::ByteLevel: {
        const std::string text =
            step.add_prefix_space && !piece.starts_with(' ') ? " " + piece : piece;
        if (!step.use_regex) return out.push_back({byte_level_encode(text), in.at_start});
        for (std::string_view part : split_gpt2(text))
          out.push_back({byte_level_encode(part), in.at_start && part.data() == text.data()});
        return;
      }
    }
  }

  std::vector<std::string> decode_step(const DecoderStep& step, std::vector<std::string> tokens) const {
    switch (step.kind) {
      case DecoderStep::Kind::ByteLevel:
        return {byte_level_decode(tokens)};
      case DecoderStep::Kind::WordPiece:
        return {wordpiece_decode(tokens, step.prefix, step.cleanup)};
      case DecoderStep::Kind::Replace:
        for (std::string& t : tokens) t = replace_all(t, step.from, step.to);
        return tokens;
      case DecoderStep::Kind::ByteFallback:
        return byte_fallback_decode(tokens);
      case DecoderStep::Kind::Fuse: {
        std::string all;
        for (const std::string& t : tokens) all += t;
        return {all};
      }
      case DecoderStep::Kind::Strip:
        for (std::string& t : tokens) t = strip_token(t, step);
        return tokens;
      case DecoderStep::Kind::Metaspace:
        // tokenizers: the replacement is a space, except in the first token
        // (unless prepend_scheme is never), where every one is dropped.
        for (size_t i = 0; i < tokens.size(); ++i)
          tokens[i] = replace_all(tokens[i], step.from,
                                  i == 0 && step.prepend != PrependScheme::Never ? "" : " ");
        return tokens;
    }
    return tokens;
  }

  static std::vector<int32_t> apply(const Template& t, const std::vector<int32_t>& ids) {
    std::vector<int32_t> out;
    for (const TemplatePart& part : t) {
      const auto& src = part.is_sequence ? ids : part.ids;
      out.insert(out.end(), src.begin(), src.end());
    }
    return out;
  }

  PipelineConfig config_;
  AddedTokenSplitter raw_tokens_;         // added tokens with normalized == false
  AddedTokenSplitter normalized_tokens_;  // and with normalized == true
  std::vector<std::optional<std::string>> id_to_token_;
  TokenMap added_ids_;
  std::unordered_set<std::string> special_;  // contents of special added tokens
};

}  // namespace

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(text);
  std::string out;
  size_t begin = 0;
  for (size_t at = text.find(from); at != std::string_view::npos; at = text.find(from, begin)) {
    out.append(text.substr(begin, at - begin)).append(to);
    begin = at + from.size();
  }
  return out.append(text.substr(begin));
}

std::string strip_token(const std::string& token, const DecoderStep& step) {
  // tokenizers' Strip: at most `start` leading and `stop` trailing copies of
  // the character; it then keeps (byte length - both cuts) characters, which
  // only differs from "the rest" for multi-byte text with stop > 0.
  std::vector<std::string_view> chars;
  for (size_t pos = 0; pos < token.size();) {
    const size_t start = pos;
    unicode::next_code_point(token, pos);
    chars.push_back(std::string_view(token).substr(start, pos - start));
  }
  size_t front = 0, back = 0;
  while (front < step.start && front < chars.size() && chars[front] == step.strip) ++front;
  while (back < step.stop && back < chars.size() && chars[chars.size() - 1 - back] == step.strip) ++back;
  const size_t cut = front + back;
  const size_t keep = token.size() >= cut ? std::min(token.size() - cut, chars.size() - front) : 0;
  std::string out;
  for (size_t i = front; i < front + keep; ++i) out += chars[i];
  return out;
}

std::vector<std::string> byte_fallback_decode(const std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  std::string bytes;
  size_t count = 0;
  auto flush = [&] {
    if (count == 0) return;
    if (unicode::find_invalid_utf8(bytes) == std::string_view::npos) {
      out.push_back(bytes);
    } else {
      out.insert(out.end(), count, "\xEF\xBF\xBD");  // one U+FFFD token per byte
    }
    bytes.clear(), count = 0;
  };
  auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  for (const std::string& t : tokens) {
    // "<0xXX>": tokenizers parses the two digits with u8::from_str_radix (either case).
    if (t.size() == 6 && t.starts_with("<0x") && t[5] == '>' && hex(t[3]) >= 0 && hex(t[4]) >= 0) {
      bytes.push_back(char(hex(t[3]) * 16 + hex(t[4])));
      ++count;
      continue;
    }
    flush();
    out.push_back(t);
  }
  flush();
  return out;
}

std::unique_ptr<Tokenizer> make_pipeline_tokenizer(PipelineConfig config) {
  return std::make_unique<PipelineTokenizer>(std::move(config));
}

std::string byte_level_decode(const std::vector<std::string>& tokens) {
  std::string bytes;
  for (const std::string& token : tokens) {
    const bool valid = unicode::find_invalid_utf8(token) == std::string_view::npos;
    const std::u32string chars = valid ? unicode::to_code_points(token) : std::u32string();
    const bool all_bytes = valid && std::all_of(chars.begin(), chars.end(),
                                                [](char32_t c) { return byte_level_byte(c) >= 0; });
    if (!all_bytes) {
      bytes += token;
      continue;
    }
    for (char32_t c : chars) bytes.push_back(char(byte_level_byte(c)));
  }
  return unicode::utf8_lossy(bytes);
}

std::string wordpiece_decode(const std::vector<std::string>& tokens, const std::string& prefix,
                             bool cleanup) {
  // Cleanup replacements, applied in this order to each token (with its
  // leading space), never across tokens: tokenizers' decoders/wordpiece.rs.
  static const std::pair<std::string_view, std::string_view> kCleanup[] = {
      {" .", "."},   {" ?", "?"},     {" !", "!"},     {" ,", ","},
      {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},   {" do not", " don't"},
      {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string token = tokens[i];
    // An empty prefix matches every token, so then no spaces are added at all.
    if (i > 0) token = token.starts_with(prefix) ? token.substr(prefix.size()) : " " + token;
    if (cleanup) {
      for (const auto& [from, to] : kCleanup) {
        for (size_t at = token.find(from); at != std::string::npos;
             at = token.find(from, at + to.size())) {
          token.replace(at, from.size(), to);
        }
      }
    }
    out += token;
  }
  return out;
}

}  // namespace wquant
