// libFuzzer target: a GGUF file's vocabulary (tokenizer.ggml.*) turned into a
// tokenizer, which then encodes and decodes a fixed text.
#include "fuzz_input.h"
#include "wquant/core/error.h"
#include "wquant/io/gguf.h"
#include "wquant/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = wquant::fuzz::write_input("vocab.gguf", data, size);
  try {
    const wquant::GgufFile gguf(path);
    const auto tok = wquant::load_gguf_tokenizer(gguf);
    const auto ids = tok->encode("In the beginning God created the heaven and the earth. 1234 ²³ héllo\n\t<|im_end|>");
    tok->decode(ids);
  } catch (const wquant::Error&) {
  }
  return 0;
}
