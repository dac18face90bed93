// load_tokenizer_json: a Hugging Face tokenizer.json (the serialization of
// tokenizers' Tokenizer) to a PipelineConfig. Every unsupported component
// is an Error naming the file and the component, never silently ignored.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "pipeline.h"
#include "wquant/core/error.h"
#include "wquant/io/json_number.h"
#include "wquant/tokenizer/unicode.h"

namespace wquant {
namespace {

using nlohmann::json;

// GPT-2's pre-tokenization regex as tokenizer.json spells it in a Split
// pre-tokenizer; split_gpt2 implements exactly this pattern.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Returns s if it is exactly one character (one UTF-8 code point), as the
// `char` fields of tokenizers' Metaspace and Strip; throws Error naming
// `path` and `what` otherwise.
std::string one_character(std::string s, const std::string& path, const char* what) {
  size_t pos = 0;
  const bool valid = !s.empty() && unicode::find_invalid_utf8(s) == std::string_view::npos;
  if (valid) unicode::next_code_point(s, pos);
  if (!valid || pos != s.size())
    fail(path, ": ", what, " \"", printable(s.substr(0, 40)), "\" is not one character");
  return s;
}

// Returns j[key] as T, or `fallback` when the key is missing or null.
// Integers go through json_int_or (range-checked) instead.
template <class T>
T get_or(const json& j, const char* key, T fallback) {
  static_assert(!std::is_integral_v<T> || std::is_same_v<T, bool>, "use json_int_or");
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? fallback : it->get<T>();
}

std::string type_of(const json& j, const std::string& path, const char* what) {
  auto it = j.find("type");
  if (it == j.end() || !it->is_string()) fail(path, ": ", what, " has no \"type\"");
  return it->get<std::string>();
}

// A token id: an integer in [0, 2^31 - 1] (range-checked, see json_number.h).
// what() names it in the error; it is only called then (a vocabulary has
// tens of thousands of ids).
template <class What>
int32_t token_id(const json& j, What&& what) {
  if (const auto v = json_int_in(j, 0, INT32_MAX)) return int32_t(*v);
  return int32_t(json_int(j, 0, INT32_MAX, what()));
}

TokenMap read_vocab(const json& model, const std::string& path) {
  auto it = model.find("vocab");
  if (it == model.end() || !it->is_object()) fail(path, ": model has no \"vocab\" object");
  TokenMap vocab;
  for (const auto& item : it->items()) {
    const std::string& token = item.key();  // a named variable: lambdas may not capture structured bindings before C++20
    vocab.emplace(token, token_id(item.value(), [&] { return path + ": the id of vocab token \"" + printable(token) + "\""; }));
  }
  return vocab;
}

// Merges are "a b" strings (older files) or ["a", "b"] pairs.
std::vector<std::pair<std::string, std::string>> read_merges(const json& model,
                                                             const std::string& path) {
  std::vector<std::pair<std::string, std::string>> merges;
  for (const json& m : model.value("merges", json::array())) {
    if (m.is_array() && m.size() == 2) {
      merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      continue;
    }
    const std::string line = m.get<std::string>();
    const size_t space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
      fail(path, ": merge ", merges.size(), " (\"", line,
           "\") is not two tokens separated by one space");
    }
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  return merges;
}

// Unigram's "vocab": [[piece, score], ...] in id order.
std::vector<std::pair<std::string, double>> read_unigram_pieces(const json& model, const std::string& path) {
  auto it = model.find("vocab");
  if (it == model.end() || !it->is_array()) fail(path, ": Unigram model has no \"vocab\" list");
  std::vector<std::pair<std::string, double>> pieces;
  for (const json& p : *it) {
    if (!p.is_array() || p.size() != 2 || !p[0].is_string() || !p[1].is_number())
      fail(path, ": Unigram vocab entry ", pieces.size(), " is not a [piece, score] pair");
    pieces.emplace_back(p[0].get<std::string>(), p[1].get<double>());
  }
  return pieces;
}

TokenizerModel read_model(const json& root, const std::string& path) {
  auto it = root.find("model");
  if (it == root.end() || !it->is_object()) fail(path, ": no \"model\" object");
  const json& m = *it;
  const std::string type = m.contains("type")     ? type_of(m, path, "model")
                           : m.contains("merges") ? "BPE"
                                                  : "";
  if (type == "BPE") {
    if (get_or(m, "dropout", 0.0) != 0.0) fail(path, ": BPE dropout is not supported");
    BpeOptions options;
    if (m.contains("unk_token") && !m["unk_token"].is_null())
      options.unk_token = m["unk_token"].get<std::string>();
    options.fuse_unk = get_or(m, "fuse_unk", false);
    options.ignore_merges = get_or(m, "ignore_merges", false);
    options.continuing_subword_prefix = get_or(m, "continuing_subword_prefix", std::string());
    options.end_of_word_suffix = get_or(m, "end_of_word_suffix", std::string());
    options.byte_fallback = get_or(m, "byte_fallback", false);
    return BpeModel(read_vocab(m, path), read_merges(m, path), std::move(options), path);
  }
  if (type == "Unigram") {
    std::optional<int32_t> unk_id;
    if (m.contains("unk_id") && !m["unk_id"].is_null())
      unk_id = token_id(m["unk_id"], [&] { return path + ": Unigram unk_id"; });
    return UnigramModel(read_unigram_pieces(m, path), unk_id, get_or(m, "byte_fallback", false), path);
  }
  if (type == "WordPiece") {
    return WordPieceModel(read_vocab(m, path), get_or(m, "unk_token", std::string("[UNK]")),
                          get_or(m, "continuing_subword_prefix", std::string("##")),
                          size_t(json_int_or(m, "max_input_chars_per_word", 100, 0, INT32_MAX,
                                             path + ": WordPiece model")),
                          path);
  }
  fail(path, ": model type \"", type, "\" is not supported (BPE, WordPiece, Unigram)");
}

// A normalizer's string pattern ({"String": "..."}); regex patterns are refused.
std::string string_pattern(const json& j, const std::string& path, const char* what) {
  const json& pattern = j.at("pattern");
  if (!pattern.is_object() || !pattern.contains("String") || !pattern["String"].is_string())
    fail(path, ": ", what, " pattern ", printable(pattern.dump()), " is not supported (only {\"String\": ...})");
  return pattern["String"].get<std::string>();
}

void read_normalizer(const json& j, const std::string& path, std::vector<NormalizerStep>& steps) {
  if (j.is_null()) return;
  const std::string type = type_of(j, path, "normalizer");
  NormalizerStep step;
  if (type == "Sequence") {
    for (const json& n : j.at("normalizers")) read_normalizer(n, path, steps);
    return;
  } else if (type == "BertNormalizer") {
    step.kind = NormalizerStep::Kind::Bert;
    BertNormalizerOptions& o = step.bert;
    o.clean_text = get_or(j, "clean_text", true);
    o.handle_chinese_chars = get_or(j, "handle_chinese_chars", true);
    o.lowercase = get_or(j, "lowercase", true);
    o.strip_accents = get_or(j, "strip_accents", o.lowercase);  // null: follow lowercase
  } else if (type == "Prepend") {
    step.kind = NormalizerStep::Kind::Prepend;
    step.to = j.at("prepend").get<std::string>();
  } else if (type == "Replace") {
    step.kind = NormalizerStep::Kind::Replace;
    step.from = string_pattern(j, path, "Replace normalizer");
    step.to = j.at("content").get<std::string>();
  } else {
    fail(path, ": normalizer \"", type, "\" is not supported (BertNormalizer, Prepend, Replace, Sequence)");
  }
  steps.push_back(step);
}

PrependScheme read_prepend_scheme(const json& j, const std::string& path, const char* what) {
  // Older files: add_prefix_space true / false instead of prepend_scheme.
  const std::string scheme = j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()
                                 ? j["prepend_scheme"].get<std::string>()
                                 : get_or(j, "add_prefix_space", true) ? "always" : "never";
  if (scheme == "always") return PrependScheme::Always;
  if (scheme == "first") return PrependScheme::First;
  if (scheme == "never") return PrependScheme::Never;
  fail(path, ": ", what, " prepend_scheme \"", printable(scheme), "\" (always, first, never)");
}

void read_pre_tokenizer(const json& j, const std::string& path,
                        std::vector<PreTokenizerStep>& steps) {
  if (j.is_null()) return;
  const std::string type = type_of(j, path, "pre_tokenizer");
  PreTokenizerStep step;
  if (type == "Sequence") {
    for (const json& p : j.at("pretokenizers")) read_pre_tokenizer(p, path, steps);
    return;
  } else if (type == "ByteLevel") {
    step.kind = PreTokenizerStep::Kind::ByteLevel;
    step.add_prefix_space = get_or(j, "add_prefix_space", true);
    step.use_regex = get_or(j, "use_regex", true);
  } else if (type == "BertPreTokenizer") {
    step.kind = PreTokenizerStep::Kind::Bert;
  } else if (type == "Digits") {
    step.kind = PreTokenizerStep::Kind::Digits;
    step.individual_digits = get_or(j, "individual_digits", false);
  } else if (type == "Metaspace") {
    step.kind = PreTokenizerStep::Kind::Metaspace;
    step.text = one_character(get_or(j, "replacement", std::string("\u2581")), path, "Metaspace pre-tokenizer replacement");
    step.prepend = read_prepend_scheme(j, path, "Metaspace pre-tokenizer");
    step.split = get_or(j, "split", true);
  } else if (type == "WhitespaceSplit") {
    step.kind = PreTokenizerStep::Kind::WhitespaceSplit;
  } else if (type == "Split" && j.contains("pattern") && j["pattern"].contains("String")) {
    if (get_or(j, "behavior", std::string()) != "MergedWithPrevious" || get_or(j, "invert", false))
      fail(path, ": Split pre-tokenizer on a string is only supported with MergedWithPrevious");
    step.kind = PreTokenizerStep::Kind::SplitAfter;
    step.text = string_pattern(j, path, "Split pre-tokenizer");
  } else if (type == "Split") {
    const json& pattern = j.at("pattern");
    const std::string regex = pattern.contains("Regex") ? pattern["Regex"].get<std::string>() : "";
    if (regex != kGpt2Pattern || get_or(j, "behavior", std::string()) != "Isolated" ||
        get_or(j, "invert", false)) {
      fail(path, ": Split pre-tokenizer ", pattern.dump(),
           " is not supported (only GPT-2's regex, Isolated)");
    }
    step.kind = PreTokenizerStep::Kind::Gpt2Split;
  } else {
    fail(path, ": pre_tokenizer \"", type,
         "\" is not supported (ByteLevel, BertPreTokenizer, Digits, Metaspace, WhitespaceSplit, Split, "
         "Sequence)");
  }
  steps.push_back(step);
}

// Returns the id of a post-processor's [token, id] pair.
std::vector<int32_t> pair_id(const json& j, const std::string& what) {
  return {token_id(j.at(1), [&] { return what; })};
}

void read_post_processor(const json& j, const std::string& path, std::vector<Template>& out) {
  if (j.is_null()) return;
  const std::string type = type_of(j, path, "post_processor");
  const TemplatePart sequence{true, {}};
  if (type == "Sequence") {
    for (const json& p : j.at("processors")) read_post_processor(p, path, out);
  } else if (type == "ByteLevel") {
    // Only adjusts offsets.
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    out.push_back({{false, pair_id(j.at("cls"), path + ": post_processor cls id")}, sequence,
                   {false, pair_id(j.at("sep"), path + ": post_processor sep id")}});
  } else if (type == "TemplateProcessing") {
    Template t;
    for (const json& item : j.at("single")) {
      if (item.contains("Sequence")) {
        t.push_back(sequence);
        continue;
      }
      const std::string name = item.at("SpecialToken").at("id").get<std::string>();
      const json& specials = j.value("special_tokens", json::object());
      if (!specials.contains(name))
        fail(path, ": post_processor template uses \"", name, "\", not in its special_tokens");
      std::vector<int32_t> ids;
      for (const json& id : specials[name].at("ids"))
        ids.push_back(token_id(id, [&] { return path + ": post_processor special token \"" + printable(name) + "\" id"; }));
      t.push_back({false, std::move(ids)});
    }
    out.push_back(std::move(t));
  } else {
    fail(path, ": post_processor \"", type,
         "\" is not supported (TemplateProcessing, BertProcessing, "
         "RobertaProcessing, ByteLevel, Sequence)");
  }
}

void read_decoder(const json& j, const std::string& path, std::vector<DecoderStep>& steps) {
  if (j.is_null()) return;
  const std::string type = type_of(j, path, "decoder");
  DecoderStep step;
  if (type == "Sequence") {
    for (const json& d : j.at("decoders")) read_decoder(d, path, steps);
    return;
  } else if (type == "ByteLevel") {
    step.kind = DecoderStep::Kind::ByteLevel;
  } else if (type == "WordPiece") {
    step.kind = DecoderStep::Kind::WordPiece;
    step.prefix = get_or(j, "prefix", std::string("##"));
    step.cleanup = get_or(j, "cleanup", true);
  } else if (type == "Replace") {
    step.kind = DecoderStep::Kind::Replace;
    step.from = string_pattern(j, path, "Replace decoder");
    step.to = j.at("content").get<std::string>();
  } else if (type == "ByteFallback") {
    step.kind = DecoderStep::Kind::ByteFallback;
  } else if (type == "Fuse") {
    step.kind = DecoderStep::Kind::Fuse;
  } else if (type == "Strip") {
    step.kind = DecoderStep::Kind::Strip;
    step.strip = one_character(j.at("content").get<std::string>(), path, "Strip decoder content");
    step.start = size_t(json_int(j.at("start"), 0, INT32_MAX, path + ": Strip decoder start"));
    step.stop = size_t(json_int(j.at("stop"), 0, INT32_MAX, path + ": Strip decoder stop"));
  } else if (type == "Metaspace") {
    step.kind = DecoderStep::Kind::Metaspace;
    step.from = one_character(get_or(j, "replacement", std::string("\u2581")), path, "Metaspace decoder replacement");
    step.prepend = read_prepend_scheme(j, path, "Metaspace decoder");
  } else {
    fail(path, ": decoder \"", type,
         "\" is not supported (ByteLevel, WordPiece, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence)");
  }
  steps.push_back(step);
}

// Returns the tokenizer_config.json next to `path` parsed, or null if there
// is none or it does not parse (it is optional: only bos / eos are read).
json read_tokenizer_config(const std::string& path) {
  const auto config_path = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  std::ifstream in(config_path);
  if (!in) return nullptr;
  const json config = json::parse(in, nullptr, /*allow_exceptions=*/false);
  return config.is_discarded() ? json(nullptr) : config;
}

// Returns the token a tokenizer_config.json names under `key` (a string or
// {"content": ...}), or "".
std::string config_token(const json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return "";
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  return v.is_object() && v.contains("content") && v["content"].is_string()
             ? v["content"].get<std::string>()
             : "";
}

// Returns the id of `token` among the added tokens, then the model's
// vocabulary (the order of Tokenizer::token_to_id), or nullopt.
std::optional<int32_t> find_token(const PipelineConfig& config, const std::string& token) {
  if (token.empty()) return std::nullopt;
  for (const AddedToken& t : config.added_tokens) {
    if (t.content == token) return t.id;
  }
  const TokenMap& vocab =
      std::visit([](const auto& m) -> const TokenMap& { return m.vocab(); }, config.model);
  auto it = vocab.find(token);
  return it == vocab.end() ? std::nullopt : std::optional<int32_t>(it->second);
}

PipelineConfig read_config(const json& root, const std::string& path) {
  PipelineConfig config(path, read_model(root, path));
  for (const json& t : root.value("added_tokens", json::array())) {
    const std::string content = t.at("content").get<std::string>();
    config.added_tokens.push_back({content, token_id(t.at("id"), [&] {
                                     return path + ": the id of added token \"" + printable(content) + "\"";
                                   }),
                                   get_or(t, "special", false), get_or(t, "normalized", false),
                                   get_or(t, "lstrip", false), get_or(t, "rstrip", false),
                                   get_or(t, "single_word", false)});
  }
  read_normalizer(root.value("normalizer", json()), path, config.normalizer);
  read_pre_tokenizer(root.value("pre_tokenizer", json()), path, config.pre_tokenizer);
  read_post_processor(root.value("post_processor", json()), path, config.post_processor);
  read_decoder(root.value("decoder", json()), path, config.decoder);
  return config;
}

}  // namespace

PipelineConfig pipeline_config_from_json(const json& tokenizer, const json& tokenizer_config,
                                         const std::string& path) {
  if (!tokenizer.is_object()) fail(path, ": not a tokenizer.json (the top level is not an object)");
  PipelineConfig config = [&] {
    try {
      return read_config(tokenizer, path);
    } catch (const json::exception& e) {  // a missing key or a value of the wrong type
      fail(path, ": unexpected tokenizer.json content: ", e.what());
    }
  }();
  config.bos_id = find_token(config, config_token(tokenizer_config, "bos_token"));
  config.eos_id = find_token(config, config_token(tokenizer_config, "eos_token"));
  return config;
}

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& path) {
  if (std::filesystem::is_directory(path)) fail(path, ": is a directory, not a tokenizer.json");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open tokenizer file");
  std::ostringstream text;
  text << in.rdbuf();
  json root;
  try {
    root = json::parse(text.str());
  } catch (const json::exception& e) {
    fail(path, ": not valid JSON: ", e.what());
  }
  return make_pipeline_tokenizer(pipeline_config_from_json(root, read_tokenizer_config(path), path));
}

}  // namespace wquant
