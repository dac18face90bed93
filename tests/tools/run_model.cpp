// run_model CHECKPOINT IDS_FILE OUT_LOGITS [GREEDY_N]
// Runs a causal LM on the token ids in IDS_FILE (whitespace separated) as one
// prompt and writes the logits of every position, [n, vocab] f32 little-endian,
// to OUT_LOGITS. With GREEDY_N, then decodes GREEDY_N tokens greedily one at
// a time (through the KV cache) and prints their ids on stdout.
// For the Python oracle tests against transformers.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "wquant/core/error.h"
#include "wquant/io/checkpoint.h"
#include "wquant/models/causal_lm.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: run_model CHECKPOINT IDS_FILE OUT_LOGITS [GREEDY_N]\n");
    return 2;
  }
  try {
    const auto ckpt = wquant::open_checkpoint(argv[1]);
    auto model = wquant::load_causal_lm(*ckpt);
    std::vector<int32_t> ids;
    std::ifstream in(argv[2]);
    for (int32_t id; in >> id;) ids.push_back(id);
    const int64_t vocab = model->config().vocab_size;
    std::vector<float> logits(ids.size() * size_t(vocab));
    model->forward(ids.data(), int64_t(ids.size()), logits.data(), true);
    std::ofstream out(argv[3], std::ios::binary);
    out.write(reinterpret_cast<const char*>(logits.data()), std::streamsize(logits.size() * 4));
    if (argc > 4) {
      const int n = std::atoi(argv[4]);
      std::vector<float> last(logits.end() - vocab, logits.end());
      for (int i = 0; i < n; ++i) {
        int32_t best = 0;
        for (int32_t v = 1; v < vocab; ++v)
          if (last[size_t(v)] > last[size_t(best)]) best = v;
        std::printf("%d%c", best, i + 1 == n ? '\n' : ' ');
        model->forward(&best, 1, last.data(), false);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "run_model: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
