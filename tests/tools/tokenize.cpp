// tokenize: drives wquant's tokenizers line by line, so that the Python
// oracle test (tests/python/test_tokenizer_oracle.py) can compare them with
// Hugging Face `tokenizers` / transformers in bulk.
//
//   tokenize (--json PATH | --gguf PATH) [options] < lines
//
//   (default)       each line is text; prints its ids, space separated
//   --decode        each line is space-separated ids; prints their text
//   --normalize     each line is text; prints it normalized
//   --pre-tokenize  each line is normalized text; prints its pieces as a JSON array
//   --info          prints {"vocab_size", "bos_id", "eos_id"} as JSON, reads nothing
//   --write-hf DIR  (with --gguf) writes DIR/tokenizer.json and
//                   DIR/tokenizer_config.json as `wquant quantize` does, reads nothing
//   --no-special    encode without the post-processor's special tokens;
//                   decode leaving special tokens out
//   --escaped       input text lines and output text are JSON strings, so
//                   that text may hold newlines (ids stay plain)
//
// Errors print one line to stderr and exit 1.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "wquant/core/error.h"
#include "wquant/io/gguf.h"
#include "wquant/tokenizer/gguf_vocab.h"
#include "wquant/tokenizer/tokenizer.h"

namespace {

using nlohmann::json;

struct Options {
  std::string json_path, gguf_path, hf_dir, mode = "encode";
  bool special = true, escaped = false;
};

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--json" && has_value) {
      o.json_path = argv[++i];
    } else if (arg == "--gguf" && has_value) {
      o.gguf_path = argv[++i];
    } else if (arg == "--decode" || arg == "--normalize" || arg == "--pre-tokenize" ||
               arg == "--info") {
      o.mode = arg.substr(2);
    } else if (arg == "--write-hf" && has_value) {
      o.mode = "write-hf";
      o.hf_dir = argv[++i];
    } else if (arg == "--no-special") {
      o.special = false;
    } else if (arg == "--escaped") {
      o.escaped = true;
    } else {
      wquant::fail("tokenize: unknown or incomplete argument ", arg);
    }
  }
  if (o.json_path.empty() == o.gguf_path.empty())
    wquant::fail("tokenize: give exactly one of --json PATH, --gguf PATH");
  if (o.mode == "write-hf" && o.gguf_path.empty()) wquant::fail("tokenize: --write-hf needs --gguf");
  return o;
}

std::unique_ptr<wquant::Tokenizer> load(const Options& o) {
  if (!o.json_path.empty()) return wquant::load_tokenizer_json(o.json_path);
  const wquant::GgufFile gguf(o.gguf_path);
  return wquant::load_gguf_tokenizer(gguf);
}

std::string optional_id(const std::optional<int32_t>& id) {
  return id ? std::to_string(*id) : "null";
}

void run(const Options& o, const wquant::Tokenizer& tok) {
  if (o.mode == "info") {
    std::cout << "{\"vocab_size\": " << tok.vocab_size()
              << ", \"bos_id\": " << optional_id(tok.bos_id())
              << ", \"eos_id\": " << optional_id(tok.eos_id()) << "}\n";
    return;
  }
  auto read_text = [&](const std::string& line) {
    return o.escaped ? json::parse(line).get<std::string>() : line;
  };
  auto write_text = [&](const std::string& text) {
    std::cout << (o.escaped ? json(text).dump() : text) << '\n';
  };
  std::string line;
  while (std::getline(std::cin, line)) {
    if (o.mode == "encode") {
      const std::vector<int32_t> ids = tok.encode(read_text(line), o.special);
      for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
      std::cout << '\n';
    } else if (o.mode == "decode") {
      std::istringstream in(line);
      std::vector<int32_t> ids;
      for (int32_t id; in >> id;) ids.push_back(id);
      write_text(tok.decode(ids, !o.special));
    } else if (o.mode == "normalize") {
      write_text(tok.normalize(read_text(line)));
    } else {
      std::cout << json(tok.pre_tokenize(read_text(line))).dump() << '\n';
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  try {
    const Options options = parse_args(argc, argv);
    if (options.mode == "write-hf") {
      const wquant::HfTokenizerFiles files =
          wquant::gguf_tokenizer_files(wquant::GgufFile(options.gguf_path));
      std::ofstream(options.hf_dir + "/tokenizer.json") << files.tokenizer.dump(2) << '\n';
      std::ofstream(options.hf_dir + "/tokenizer_config.json")
          << files.tokenizer_config.dump(2) << '\n';
      return 0;
    }
    run(options, *load(options));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
