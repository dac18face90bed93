// load_gguf_tokenizer: a byte-level BPE tokenizer from GGUF metadata, built
// the way transformers builds one from the same file
// (transformers/integrations/gguf/gguf_tokenizer_mapping.py), which is the
// reference the oracle test compares against.
#include <algorithm>
#include <array>

#include "pipeline.h"
#include "wquant/core/error.h"
#include "wquant/io/gguf.h"
#include "wquant/tokenizer/pre_tokenize.h"
#include "wquant/tokenizer/unicode.h"

namespace wquant {
namespace {

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

}  // namespace

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const GgufFile& gguf) {
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
  TokenMap vocab;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    vocab.insert_or_assign(byte_level_spelled(t) ? t : byte_level_encode(t), int32_t(i));
  }
  std::vector<std::pair<std::string, std::string>> merges;
  for (const std::string& line : meta.require<std::vector<std::string>>("tokenizer.ggml.merges")) {
    const size_t space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
      fail(path, ": tokenizer.ggml.merges entry ", merges.size(), " (\"", line,
           "\") is not two tokens");
    }
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }

  // Control tokens become special added tokens (if spelled in the byte
  // alphabet: others are llama.cpp mislabels), user-defined ones plain added
  // tokens; so do bos / eos, which transformers registers as special.
  std::vector<AddedToken> added;
  auto add = [&](const std::string& content, bool special) {
    auto it = vocab.find(content);
    if (it != vocab.end()) added.push_back({content, it->second, special});
  };
  for (size_t i = 0; i < types->size(); ++i) {
    if ((*types)[i] == kControl && byte_level_spelled(tokens[i])) add(tokens[i], true);
    if ((*types)[i] == kUserDefined) add(tokens[i], false);
  }
  const std::optional<int32_t> bos_id = meta.id("tokenizer.ggml.bos_token_id");
  const std::optional<int32_t> eos_id = meta.id("tokenizer.ggml.eos_token_id");
  for (const std::optional<int32_t>& id : {bos_id, eos_id}) {
    if (!id) continue;
    if (*id < 0 || size_t(*id) >= tokens.size())
      fail(path, ": special token id ", *id, " is not a token");
    add(tokens[*id], true);
  }
  PipelineConfig config(path, BpeModel(std::move(vocab), merges, {}, path));
  config.bos_id = bos_id;
  config.eos_id = eos_id;
  config.added_tokens = std::move(added);
  config.pre_tokenizer = {
      {PreTokenizerStep::Kind::ByteLevel, /*add_prefix_space=*/false, /*use_regex=*/true}};
  config.decoder = DecoderKind::ByteLevel;

  Template with_specials;
  if (meta.flag("tokenizer.ggml.add_bos_token") && config.bos_id)
    with_specials.push_back({false, {*config.bos_id}});
  with_specials.push_back({true, {}});
  if (meta.flag("tokenizer.ggml.add_eos_token") && config.eos_id)
    with_specials.push_back({false, {*config.eos_id}});
  config.post_processor.push_back(std::move(with_specials));
  return make_pipeline_tokenizer(std::move(config));
}

}  // namespace wquant
