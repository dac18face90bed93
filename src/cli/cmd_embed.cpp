// wquant embed MODEL [TEXT...] [--file FILE] [--json] [--tokenizer FILE]
// Sentence embeddings of each TEXT, then of each non-empty line of FILE, with
// an encoder model (BERT): the last hidden state mean-pooled over the tokens
// and L2-normalised, as sentence-transformers does for all-MiniLM-L6-v2;
// with two or more texts, their cosine-similarity matrix.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "wquant/tokenizer/tokenizer.h"
#include "wquant/core/error.h"
#include "wquant/io/checkpoint.h"
#include "wquant/models/encoder.h"
#include "wquant/pipeline/quantize_model.h"

namespace wquant::cli {
namespace {

struct EmbedArgs {
  std::string model, tokenizer, file;
  std::vector<std::string> texts;
  bool json = false;
};

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

// Returns the cosine similarity of a and b (0 if either is zero).
double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  const double d = std::sqrt(dot(a, a) * dot(b, b));
  return d > 0 ? dot(a, b) / d : 0.0;
}

// Returns the lines of `path` that are not empty (a trailing '\r' removed).
std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (line.ends_with('\r')) line.pop_back();
    if (!line.empty()) lines.push_back(std::move(line));
  }
  if (lines.empty()) fail(path, ": no text (every line is empty)");
  return lines;
}

int run_embed(EmbedArgs a) {
  const auto start = std::chrono::steady_clock::now();
  if (!a.file.empty())
    for (std::string& line : read_lines(a.file)) a.texts.push_back(std::move(line));
  if (a.texts.empty()) fail("no text to embed: give TEXT arguments or --file");
  const auto ckpt = open_checkpoint(a.model);
  auto tokenizer = open_tokenizer(a.model, a.tokenizer);
  auto encoder = load_encoder(*ckpt);
  // Tokenize everything first so that a bad text fails before any work.
  std::vector<std::vector<int32_t>> ids;
  for (size_t i = 0; i < a.texts.size(); ++i) {
    if (a.texts[i].empty()) fail("text ", i + 1, " is empty");
    ids.push_back(tokenizer->encode(a.texts[i], true));
    if (int64_t(ids.back().size()) > encoder->max_positions())
      fail("text ", i + 1, " is ", ids.back().size(), " tokens, more than the ",
           encoder->max_positions(), " positions of ", a.model, " (wquant does not truncate)");
  }
  const int64_t H = encoder->hidden_size();
  std::vector<std::vector<float>> embeddings;
  for (const auto& seq : ids)
    embeddings.push_back(mean_pool_normalize(encoder->embed(seq), int64_t(seq.size()), H));
  std::vector<std::vector<double>> similarity(embeddings.size(),
                                              std::vector<double>(embeddings.size()));
  for (size_t i = 0; i < embeddings.size(); ++i)
    for (size_t j = 0; j < embeddings.size(); ++j)
      similarity[i][j] = cosine(embeddings[i], embeddings[j]);

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double rss_mb = peak_rss_bytes() / 1e6;  // before printing, as eval reports it
  if (a.json) {
    nlohmann::json out = {{"model", a.model}, {"hidden_size", H}, {"seconds", seconds},
                          {"peak_rss_mb", rss_mb}};
    nlohmann::json list = nlohmann::json::array();
    for (size_t i = 0; i < embeddings.size(); ++i)
      list.push_back({{"text", a.texts[i]}, {"tokens", ids[i].size()}, {"embedding", embeddings[i]}});
    out["embeddings"] = list;
    if (embeddings.size() > 1) out["similarity"] = similarity;
    std::printf("%s\n", out.dump().c_str());
  } else {
    for (size_t i = 0; i < embeddings.size(); ++i) {
      std::printf("[%zu] %zu tokens, norm %.6f:", i + 1, ids[i].size(),
                  std::sqrt(dot(embeddings[i], embeddings[i])));
      for (size_t d = 0; d < embeddings[i].size() && d < 8; ++d)
        std::printf(" %+.6f", embeddings[i][d]);
      std::printf("%s\n", embeddings[i].size() > 8 ? " ..." : "");
    }
    if (embeddings.size() > 1) {
      std::printf("cosine similarity:\n");
      for (const auto& row : similarity) {
        for (double s : row) std::printf(" %7.4f", s);
        std::printf("\n");
      }
    }
  }
  std::fprintf(stderr, "%zu texts in %.2f s, peak RSS %.1f MB\n", embeddings.size(), seconds,
               rss_mb);
  return 0;
}

}  // namespace

Command add_embed_command(CLI::App& app) {
  auto args = std::make_shared<EmbedArgs>();
  CLI::App* cmd = app.add_subcommand(
      "embed", "Sentence embeddings (mean-pooled, normalised) of texts with an encoder model.");
  cmd->add_option("model", args->model, "model directory or .safetensors file")->required();
  cmd->add_option("texts", args->texts, "the texts to embed");
  cmd->add_option("--file", args->file, "also embed each non-empty line of this UTF-8 file");
  cmd->add_option("--tokenizer", args->tokenizer, "tokenizer.json to use");
  add_threads_option(cmd);
  cmd->add_flag("--json", args->json, "print JSON with the full vectors");
  return [args]() { return run_embed(*args); };
}

}  // namespace wquant::cli
