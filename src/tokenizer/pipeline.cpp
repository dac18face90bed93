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
        for (const std::string& piece : pre_tokenize(seg.text)) {
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
    switch (config_.decoder) {
      case DecoderKind::ByteLevel:
        return byte_level_decode(tokens);
      case DecoderKind::WordPiece:
        return wordpiece_decode(tokens, config_.wordpiece_prefix, config_.wordpiece_cleanup);
      case DecoderKind::None:
        break;
    }
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i > 0 ? " " : "") + tokens[i];
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
    return config_.normalizer ? bert_normalize(text, *config_.normalizer) : std::string(text);
  }

  std::vector<std::string> pre_tokenize(std::string_view normalized) const override {
    std::vector<std::string> pieces{std::string(normalized)}, next;
    for (const PreTokenizerStep& step : config_.pre_tokenizer) {
      next.clear();
      for (const std::string& piece : pieces) run_step(step, piece, next);
      pieces.swap(next);
    }
    std::erase_if(pieces, [](const std::string& p) { return p.empty(); });
    return pieces;
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

  static void run_step(const PreTokenizerStep& step, const std::string& piece,
                       std::vector<std::string>& out) {
    auto append = [&](const std::vector<std::string_view>& parts) {
      out.insert(out.end(), parts.begin(), parts.end());
    };
    switch (step.kind) {
      case PreTokenizerStep::Kind::Gpt2Split:
        return append(split_gpt2(piece));
      case PreTokenizerStep::Kind::Bert:
        return append(split_bert(piece));
      case PreTokenizerStep::Kind::Digits:
        return append(split_digits(piece, step.individual_digits));
      case PreTokenizerStep::Kind::ByteLevel: {
        const std::string text =
            step.add_prefix_space && !piece.starts_with(' ') ? " " + piece : piece;
        if (!step.use_regex) return out.push_back(byte_level_encode(text));
        for (std::string_view part : split_gpt2(text)) out.push_back(byte_level_encode(part));
        return;
      }
    }
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
