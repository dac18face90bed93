// gguf_tokenizer_files and load_gguf_tokenizer: a byte-level BPE tokenizer
// from GGUF metadata, written as the tokenizer.json / tokenizer_config.json
// pair that transformers builds from the same file
// (transformers/integrations/gguf/gguf_tokenizer_mapping.py), which is the
// reference the oracle tests compare against. The runtime tokenizer is read
// back from those files, so what `wquant quantize` writes next to a model
// converted from GGUF and what the runtime uses for the GGUF are one thing.
#include <algorithm>
#include <array>
#include <map>
#include <tuple>
#include <unordered_map>

#include "pipeline.h"
#include "wquant/core/error.h"
#include "wquant/io/gguf.h"
#include "wquant/tokenizer/gguf_vocab.h"
#include "wquant/tokenizer/pre_tokenize.h"
#include "wquant/tokenizer/unicode.h"

namespace wquant {
namespace {

using nlohmann::json;

// llama.cpp token types (llama_token_type).
constexpr int64_t kControl = 3;
constexpr int64_t kUserDefined = 4;

// tokenizer.ggml.pre values for which transformers uses a regex other than
// GPT-2's (its GGUF_PRE_TOKENIZER_SPLITS: Llama 3, Qwen 2, Tekken, GPT-4o
// patterns); split_gpt2 would give different pieces, so these are refused.
constexpr std::array<std::string_view, 23> kOtherRegexPre = {
    "llama3", "llama-v3",     "llama-bpe", "falcon3",   "falcon-h1", "pixtral", "midm-2.0",
    "lfm2",   "jina-v5-nano", "dbrx",      "smaug-bpe", "tekken",    "qwen2",   "deepseek-r1-qwen",
    "kormo",  "f2llmv2",      "megrez",    "qwen35",    "gpt-4o",    "llama4",  "kanana2",
    "talkie", "minimax-m2"};

class Metadata {
 public:
  explicit Metadata(const GgufFile& gguf) : gguf_(gguf) {}

  // Returns the value of `key` as T, nullptr if absent; Error if of another type.
  template <class T>
  const T* find(const std::string& key) const {
    auto it = gguf_.metadata().find(key);
    if (it == gguf_.metadata().end()) return nullptr;
    const T* v = std::get_if<T>(&it->second);
    if (v == nullptr) fail(gguf_.path(), ": metadata ", key, " has an unexpected type");
    return v;
  }
  template <class T>
  const T& require(const std::string& key) const {
    const T* v = find<T>(key);
    if (v == nullptr) fail(gguf_.path(), ": metadata ", key, " is missing");
    return *v;
  }
  std::optional<int32_t> id(const std::string& key) const {
    auto it = gguf_.metadata().find(key);
    if (it == gguf_.metadata().end()) return std::nullopt;
    // Range-checked before narrowing: 2^32 + 5 must not become token 5.
    if (const auto* u = std::get_if<uint64_t>(&it->second); u && *u <= uint64_t(INT32_MAX)) return int32_t(*u);
    if (const auto* s = std::get_if<int64_t>(&it->second); s && *s >= INT32_MIN && *s <= INT32_MAX)
      return int32_t(*s);
    fail(gguf_.path(), ": metadata ", key, " is not an integer in the range of token ids");
  }
  bool flag(const std::string& key) const {
    const bool* v = find<bool>(key);
    return v != nullptr && *v;
  }

 private:
  const GgufFile& gguf_;
};

// Returns true when every code point of `token` is in the byte alphabet.
bool byte_level_spelled(std::string_view token) {
  if (unicode::find_invalid_utf8(token) != std::string_view::npos) return false;
  for (size_t pos = 0; pos < token.size();) {
    if (byte_level_byte(unicode::next_code_point(token, pos)) < 0) return false;
  }
  return true;
}

// Returns an entry of tokenizer.json's "added_tokens" (transformers adds
// GGUF tokens with normalized=False).
json added_token(int32_t id, const std::string& content, bool special) {
  return {{"id", id},          {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false},   {"normalized", false}, {"special", special}};
}

// Returns the TemplateProcessing post-processor transformers sets for
// add_bos_token / add_eos_token: [bos] $A [eos], and for pairs the same
// again around $B (type id 1). `bos` / `eos` are (token, id), empty if unused.
json template_processor(const std::optional<std::pair<std::string, int32_t>>& bos,
                        const std::optional<std::pair<std::string, int32_t>>& eos) {
  auto special = [](const std::string& token, int type_id) {
    return json{{"SpecialToken", {{"id", token}, {"type_id", type_id}}}};
  };
  auto sequence = [](const char* id, int type_id) {
    return json{{"Sequence", {{"id", id}, {"type_id", type_id}}}};
  };
  auto part = [&](const char* sequence_id, int type_id) {
    json out = json::array();
    if (bos) out.push_back(special(bos->first, type_id));
    out.push_back(sequence(sequence_id, type_id));
    if (eos) out.push_back(special(eos->first, type_id));
    return out;
  };
  json single = part("A", 0), pair = part("A", 0), specials = json::object();
  for (json& item : part("B", 1)) pair.push_back(std::move(item));
  for (const auto& t : {bos, eos})
    if (t) specials[t->first] = {{"id", t->first}, {"ids", json::array({t->second})},
                             {"tokens", json::array({t->first})}};
  return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair},
          {"special_tokens", specials}};
}


// Returns the merges transformers' generate_merges(vocab, scores) derives
// when a file has none: every split of a token into two tokens of the
// vocabulary (at code point boundaries; within a token ordered by the two
// ids), all ordered by the whole token's score, then the left and right
// lengths, highest first, the sort stable. Tokens in order of first
// appearance with their last score and last id, as Python dicts keep them.
json derived_merges(const std::vector<std::string>& tokens, const std::vector<double>& scores) {
  // Hash maps: a Gemma vocabulary has 256k tokens, each tried at every split.
  std::unordered_map<std::string_view, int64_t> id;
  std::vector<std::pair<std::string_view, double>> scored;  // first appearance, last score
  std::unordered_map<std::string_view, size_t> slot;
  for (size_t i = 0; i < tokens.size(); ++i) {
    id[tokens[i]] = int64_t(i);
    auto [it, inserted] = slot.try_emplace(tokens[i], scored.size());
    if (inserted) scored.emplace_back(tokens[i], scores[i]);
    else scored[it->second].second = scores[i];
  }
  struct Merge {
    std::string_view left, right;
    int64_t left_id, right_id;
    double score;
    size_t left_chars, right_chars;
  };
  std::vector<Merge> merges, local;
  for (const auto& [token, score] : scored) {
    if (unicode::find_invalid_utf8(token) != std::string_view::npos) continue;
    const size_t chars = unicode::to_code_points(token).size();
    local.clear();
    size_t pos = 0;
    unicode::next_code_point(token, pos);
    for (size_t k = 1; k < chars; ++k, unicode::next_code_point(token, pos)) {
      const std::string_view left = token.substr(0, pos), right = token.substr(pos);
      const auto l = id.find(left), r = id.find(right);
      if (l != id.end() && r != id.end()) local.push_back({left, right, l->second, r->second, score, k, chars - k});
    }
    std::stable_sort(local.begin(), local.end(), [](const Merge& a, const Merge& b) {
      return std::pair(a.left_id, a.right_id) < std::pair(b.left_id, b.right_id);
    });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    return std::tuple(a.score, a.left_chars, a.right_chars) > std::tuple(b.score, b.left_chars, b.right_chars);
  });
  json out = json::array();
  for (const Merge& m : merges) out.push_back({m.left, m.right});
  return out;
}

// The file's tokenizer.ggml.merges as [left, right] pairs.
json file_merges(const std::vector<std::string>& lines, const std::string& path) {
  json merges = json::array();
  for (const std::string& line : lines) {
    const size_t space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
      fail(path, ": tokenizer.ggml.merges entry ", merges.size(), " (\"", printable(line),
           "\") is not two tokens");
    }
    merges.push_back({line.substr(0, space), line.substr(space + 1)});
  }
  return merges;
}

json bpe_model(json vocab, json merges, bool byte_fallback, const json& unk_token) {
  return {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", unk_token},
          {"continuing_subword_prefix", byte_fallback ? json() : json("")},
          {"end_of_word_suffix", byte_fallback ? json() : json("")}, {"fuse_unk", byte_fallback},
          {"byte_fallback", byte_fallback}, {"ignore_merges", false}, {"vocab", std::move(vocab)},
          {"merges", std::move(merges)}};
}

json replace(const char* from, const char* to) {
  return {{"type", "Replace"}, {"pattern", {{"String", from}}}, {"content", to}};
}

// The parts of tokenizer.json that depend on the vocabulary's kind.
struct ModelParts {
  json vocab, model, normalizer, pre_tokenizer, decoder;
  std::vector<std::string> names;  // the tokens as respelled for the vocabulary; empty: as stored
  std::vector<std::string> special;  // more tokens registered as special when in the vocabulary
};

// tokenizer.ggml.model "gpt2": byte-level BPE (a token spelled outside the
// byte alphabet, a mislabelled or raw-UTF-8 one, is respelled byte by byte).
ModelParts byte_level_parts(const std::vector<std::string>& tokens, const Metadata& meta,
                            const std::string& path) {
  if (const std::string* pre = meta.find<std::string>("tokenizer.ggml.pre")) {
    if (std::find(kOtherRegexPre.begin(), kOtherRegexPre.end(), *pre) != kOtherRegexPre.end()) {
      fail(path, ": tokenizer.ggml.pre \"", *pre,
           "\" needs a pre-tokenizer regex other than GPT-2's (not supported)");
    }
  }
  ModelParts p;
  p.vocab = json::object();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    p.vocab[byte_level_spelled(t) ? t : byte_level_encode(t)] = int32_t(i);
  }
  p.model = bpe_model(p.vocab, file_merges(meta.require<std::vector<std::string>>("tokenizer.ggml.merges"), path),
                      false, nullptr);
  p.pre_tokenizer = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                     {"use_regex", true}};
  p.decoder = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true},
               {"use_regex", true}};
  return p;
}

// tokenizer.ggml.model "llama": a SentencePiece vocabulary, as
// BPE with byte fallback and merges from the file or derived from the scores,
// shaped per architecture as transformers' builders do:
//   gemma, gemma2, gemma3  GemmaTokenizer: tokens of only spaces respelled
//       with U+2581, merges by position in the file, unk_token <unk>,
//       normalizer Replace(" ", U+2581), Split(" ", merged with previous),
//       decoder Replace, ByteFallback, Fuse;
//   phi3  Prepend + Replace normalizers, no pre-tokenizer;
//   others  LlamaTokenizer: Metaspace (prepend first, no split);
//   and a Strip(" ", 1, 0) decoder after Replace, ByteFallback, Fuse.
ModelParts sentencepiece_parts(std::vector<std::string> tokens, const Metadata& meta,
                               const std::string& architecture, const std::string& path) {
  const bool gemma = architecture == "gemma" || architecture == "gemma2" || architecture == "gemma3";
  std::vector<double> scores(tokens.size());
  if (gemma) {
    for (std::string& t : tokens)
      if (!t.empty() && t.find_first_not_of(' ') == std::string::npos) t = replace_all(t, " ", "\u2581");
    for (size_t i = 0; i < tokens.size(); ++i) scores[i] = -double(i);
  } else if (const auto* s = meta.find<std::vector<double>>("tokenizer.ggml.scores")) {
    if (s->size() != tokens.size())
      fail(path, ": tokenizer.ggml.scores has ", s->size(), " entries for ", tokens.size(), " tokens");
    scores = *s;
  } else if (!meta.find<std::vector<std::string>>("tokenizer.ggml.merges")) {
    fail(path, ": a SentencePiece vocabulary with neither tokenizer.ggml.merges nor tokenizer.ggml.scores");
  }
  ModelParts p;
  p.vocab = json::object();
  for (size_t i = 0; i < tokens.size(); ++i) p.vocab[tokens[i]] = int32_t(i);
  if (gemma) p.names = tokens;
  if (gemma) p.special = {"<mask>"};  // GemmaTokenizer's mask_token
  const auto* lines = meta.find<std::vector<std::string>>("tokenizer.ggml.merges");
  json merges = lines ? file_merges(*lines, path) : derived_merges(tokens, scores);
  p.model = bpe_model(p.vocab, std::move(merges), true, gemma ? json("<unk>") : json());
  json decoder = json::array({replace("\u2581", " "), {{"type", "ByteFallback"}}, {{"type", "Fuse"}}});
  if (gemma) {
    p.normalizer = replace(" ", "\u2581");
    p.pre_tokenizer = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "MergedWithPrevious"},
                       {"invert", false}};
  } else {
    decoder.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    if (architecture == "phi3") {
      p.normalizer = {{"type", "Sequence"},
                      {"normalizers", {{{"type", "Prepend"}, {"prepend", "\u2581"}}, replace(" ", "\u2581")}}};
    } else {
      p.pre_tokenizer = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"},
                         {"split", false}};
    }
  }
  p.decoder = {{"type", "Sequence"}, {"decoders", std::move(decoder)}};
  return p;
}

}  // namespace

HfTokenizerFiles gguf_tokenizer_files(const GgufFile& gguf) {
  const std::string& path = gguf.path();
  const Metadata meta(gguf);
  const std::string* model = meta.find<std::string>("tokenizer.ggml.model");
  if (model == nullptr) fail(path, ": no tokenizer.ggml.model: the file has no embedded tokenizer");
  if (*model != "gpt2" && *model != "llama")
    fail(path, ": tokenizer.ggml.model \"", printable(*model), "\" is not supported (gpt2, llama)");
  const bool sentencepiece = *model == "llama";
  const auto& tokens = meta.require<std::vector<std::string>>("tokenizer.ggml.tokens");
  static const std::vector<int64_t> kNoTypes;
  const auto* types = meta.find<std::vector<int64_t>>("tokenizer.ggml.token_type");
  if (types != nullptr && types->size() != tokens.size()) {
    fail(path, ": tokenizer.ggml.token_type has ", types->size(), " entries for ", tokens.size(),
         " tokens");
  }
  if (types == nullptr) types = &kNoTypes;
  const std::string* architecture = meta.find<std::string>("general.architecture");
  ModelParts parts = sentencepiece
                         ? sentencepiece_parts(tokens, meta, architecture ? *architecture : "", path)
                         : byte_level_parts(tokens, meta, path);
  const json& vocab = parts.vocab;
  const std::vector<std::string>& names = parts.names.empty() ? tokens : parts.names;

  // Control tokens become special added tokens (if spelled in the byte
  // alphabet: others are llama.cpp mislabels), user-defined ones plain added
  // tokens; so do bos / eos / unk / pad, which transformers registers as
  // special. Listed by id, once each (special if any role makes it so).
  std::map<int32_t, json> added;
  auto add = [&](const std::string& content, bool special) {
    auto it = vocab.find(content);
    if (it == vocab.end()) return;
    const int32_t id = it->get<int32_t>();
    auto [entry, inserted] = added.try_emplace(id, added_token(id, content, special));
    if (!inserted && special) entry->second["special"] = true;
  };
  for (size_t i = 0; i < types->size(); ++i) {
    if ((*types)[i] == kControl && (sentencepiece || byte_level_spelled(names[i]))) add(names[i], true);
    if ((*types)[i] == kUserDefined) add(names[i], false);
  }
  for (const std::string& token : parts.special) add(token, true);
  json config = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                 {"clean_up_tokenization_spaces", false}};
  // A SentencePiece file without the flag gets a BOS (llama.cpp's default;
  // transformers: setdefault("add_bos_token", True)).
  const bool* add_bos_flag = meta.find<bool>("tokenizer.ggml.add_bos_token");
  const bool add_bos = add_bos_flag ? *add_bos_flag : sentencepiece;
  if (sentencepiece && !add_bos_flag) config["add_bos_token"] = true;
  std::optional<std::pair<std::string, int32_t>> bos, eos;
  for (const auto& [key, name] : {std::pair{"bos_token_id", "bos_token"},
                                  std::pair{"eos_token_id", "eos_token"},
                                  std::pair{"unknown_token_id", "unk_token"},
                                  std::pair{"padding_token_id", "pad_token"}}) {
    const std::optional<int32_t> id = meta.id(cat("tokenizer.ggml.", key));
    if (!id) continue;
    if (*id < 0 || size_t(*id) >= tokens.size())
      fail(path, ": tokenizer.ggml.", key, " ", *id, " is not a token");
    const std::string& token = names[size_t(*id)];
    add(token, true);
    config[name] = token;
    if (std::string_view(name) == "bos_token" && add_bos) bos.emplace(token, *id);
    if (std::string_view(name) == "eos_token" && meta.flag("tokenizer.ggml.add_eos_token"))
      eos.emplace(token, *id);
  }
  for (const char* flag : {"add_bos_token", "add_eos_token"})
    if (const bool* v = meta.find<bool>(cat("tokenizer.ggml.", flag))) config[flag] = *v;
  if (const std::string* chat = meta.find<std::string>("tokenizer.chat_template"))
    config["chat_template"] = *chat;

  json added_tokens = json::array();
  for (auto& [id, entry] : added) added_tokens.push_back(std::move(entry));
  json tokenizer = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", std::move(added_tokens)},
      {"normalizer", std::move(parts.normalizer)},
      {"pre_tokenizer", std::move(parts.pre_tokenizer)},
      {"post_processor", template_processor(bos, eos)},
      {"decoder", std::move(parts.decoder)},
      {"model", std::move(parts.model)},
  };
  return {std::move(tokenizer), std::move(config)};
}

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const GgufFile& gguf) {
  const HfTokenizerFiles files = gguf_tokenizer_files(gguf);
  return make_pipeline_tokenizer(
      pipeline_config_from_json(files.tokenizer, files.tokenizer_config, gguf.path()));
}

}  // namespace wquant
