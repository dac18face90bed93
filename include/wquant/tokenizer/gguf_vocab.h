// A GGUF file's tokenizer (its tokenizer.ggml.* metadata) as the Hugging Face
// files that describe it, so that a checkpoint converted from GGUF carries
// its tokenizer without the GGUF file beside it. load_gguf_tokenizer builds
// the runtime tokenizer from these same files.
#pragma once

#include <nlohmann/json.hpp>

namespace wquant {

class GgufFile;

struct HfTokenizerFiles {
  nlohmann::json tokenizer;         // tokenizer.json
  nlohmann::json tokenizer_config;  // tokenizer_config.json
};

// Returns tokenizer.json and tokenizer_config.json for a GGUF vocabulary
// (tokenizer.ggml.model "gpt2"), built as transformers builds a tokenizer
// from the same file (transformers/integrations/gguf/gguf_tokenizer_mapping.py):
//   tokenizer.json   byte-level BPE over tokenizer.ggml.tokens (a token
//                    spelled outside the byte alphabet respelled byte by
//                    byte) and .merges; control tokens as special added
//                    tokens, user-defined ones as plain added tokens, the
//                    bos / eos / unk / padding tokens as special ones; GPT-2's
//                    ByteLevel pre-tokenizer and decoder; a TemplateProcessing
//                    post-processor adding bos / eos when add_bos_token /
//                    add_eos_token say so.
//   tokenizer_config.json  bos_token, eos_token, unk_token, pad_token,
//                    add_bos_token, add_eos_token, chat_template, where the
//                    file has them, and tokenizer_class PreTrainedTokenizerFast
//                    (tokenizer.json used as is).
// Throws Error naming the file for missing or inconsistent metadata, a
// tokenizer.ggml.model other than "gpt2", or a tokenizer.ggml.pre for which
// transformers uses a pre-tokenizer regex other than GPT-2's.
HfTokenizerFiles gguf_tokenizer_files(const GgufFile& gguf);

}  // namespace wquant
