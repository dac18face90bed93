// Finding the files that go with a model path given on the command line.
#pragma once

#include <memory>
#include <string>

#include "wquant/tokenizer/tokenizer.h"

namespace wquant::cli {

// Returns the tokenizer for `model`: `tokenizer` if given (a tokenizer.json
// or a .gguf), else tokenizer.json next to the model, else the vocabulary of
// the model's GGUF file. Throws Error naming the model if there is none.
std::unique_ptr<Tokenizer> open_tokenizer(const std::string& model, const std::string& tokenizer);

}  // namespace wquant::cli
