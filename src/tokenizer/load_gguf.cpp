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
    if (const auto* u = std::get_if<uint64_t>(&it->second)) return int32_t(*u);
    if (const auto* s = std::get_if<int64_t>(&it->second)) return int32_t(*s);
    fail(gguf_.path(), ": metadata ", key, " is not an integer");
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

}  // namespace

HfTokenizerFiles gguf_tokenizer_files(const GgufFile& gguf) {
  const std::string& path = gguf.path();
  const Metadata meta(gguf);
  const std::string* model = meta.find<std::string>("tokenizer.ggml.model");
  if (model == nullptr) fail(path, ": no tokenizer.ggml.model: the file has no embedded tokenizer");
  if (*model != "gpt2")
    fail(path, ": tokenizer.ggml.model \"", *model, "\" is not supported (gpt2)");
  if (const std::string* pre = meta.find<std::string>("tokenizer.ggml.pre")) {
    if (std::find(kOtherRegexPre.begin(), kOtherRegexPre.end(), *pre) != kOtherRegexPre.end()) {
      fail(path, ": tokenizer.ggml.pre \"", *pre,
           "\" needs a pre-tokenizer regex other than GPT-2's (not supported)");
    }
  }
  const auto& tokens = meta.require<std::vector<std::string>>("tokenizer.ggml.tokens");
  static const std::vector<int64_t> kNoTypes;
  const auto* types = meta.find<std::vector<int64_t>>("tokenizer.ggml.token_type");
  if (types != nullptr && types->size() != tokens.size()) {
    fail(path, ": tokenizer.ggml.token_type has ", types->size(), " entries for ", tokens.size(),
         " tokens");
  }
  if (types == nullptr) types = &kNoTypes;

  // A token written with characters outside the byte alphabet (a mislabelled
  // or raw-UTF-8 token) is respelled byte by byte, as transformers does; a
  // repeated token keeps its last id, as a Python dict would.
  json vocab = json::object();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    vocab[byte_level_spelled(t) ? t : byte_level_encode(t)] = int32_t(i);
  }
  json merges = json::array();
  for (const std::string& line : meta.require<std::vector<std::string>>("tokenizer.ggml.merges")) {
    const size_t space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
      fail(path, ": tokenizer.ggml.merges entry ", merges.size(), " (\"", line,
           "\") is not two tokens");
    }
    merges.push_back({line.substr(0, space), line.substr(space + 1)});
  }

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
    if ((*types)[i] == kControl && byte_level_spelled(tokens[i])) add(tokens[i], true);
    if ((*types)[i] == kUserDefined) add(tokens[i], false);
  }
  json config = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                 {"clean_up_tokenization_spaces", false}};
  std::optional<std::pair<std::string, int32_t>> bos, eos;
  for (const auto& [key, name] : {std::pair{"bos_token_id", "bos_token"},
                                  std::pair{"eos_token_id", "eos_token"},
                                  std::pair{"unknown_token_id", "unk_token"},
                                  std::pair{"padding_token_id", "pad_token"}}) {
    const std::optional<int32_t> id = meta.id(cat("tokenizer.ggml.", key));
    if (!id) continue;
    if (*id < 0 || size_t(*id) >= tokens.size())
      fail(path, ": tokenizer.ggml.", key, " ", *id, " is not a token");
    const std::string& token = tokens[*id];
    add(token, true);
    config[name] = token;
    if (std::string_view(name) == "bos_token" && meta.flag("tokenizer.ggml.add_bos_token"))
      bos.emplace(token, *id);
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
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
        {"use_regex", true}}},
      {"post_processor", template_processor(bos, eos)},
      {"decoder",
       {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true},
        {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
        {"continuing_subword_prefix", ""}, {"end_of_word_suffix", ""}, {"fuse_unk", false},
        {"byte_fallback", false}, {"ignore_merges", false}, {"vocab", std::move(vocab)},
        {"merges", std::move(merges)}}},
  };
  return {std::move(tokenizer), std::move(config)};
}

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const GgufFile& gguf) {
  const HfTokenizerFiles files = gguf_tokenizer_files(gguf);
  return make_pipeline_tokenizer(
      pipeline_config_from_json(files.tokenizer, files.tokenizer_config, gguf.path()));
}

}  // namespace wquant
