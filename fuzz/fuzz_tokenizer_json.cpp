// libFuzzer target: tokenizer.json (model, normalizer, pre-tokenizer,
// post-processor, decoder, added tokens), then encoding and decoding a fixed
// text with whatever loaded.
#include "fuzz_input.h"
#include "wquant/core/error.h"
#include "wquant/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = wquant::fuzz::write_input("tokenizer.json", data, size);
  try {
    const auto tok = wquant::load_tokenizer_json(path);
    const auto ids = tok->encode("In the beginning God created the heaven and the earth. 1234 ²³ héllo\n\t[CLS]");
    tok->decode(ids);
  } catch (const wquant::Error&) {
  }
  return 0;
}
