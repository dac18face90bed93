// ModelConfig: the hyper-parameters of a decoder-only model, read from a
// Hugging Face config.json.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

namespace wquant {

struct ModelConfig {
  std::string model_type;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;            // hidden_size / num_heads unless given
  int64_t vocab_size = 0;
  int64_t max_positions = 0;       // max_position_embeddings
  float rms_norm_eps = 1e-6f;       // llama family
  float layer_norm_eps = 1e-5f;     // GPT-2, OPT, CodeGen
  float rope_theta = 10000.0f;
  bool tie_word_embeddings = false;
  bool attention_bias = false;     // q/k/v biases (qwen2: true)
  int32_t bos_token_id = -1, eos_token_id = -1;
};

// Returns config[key] as a positive integer. Throws Error naming `where`
// (the config's path) and the key if it is missing or not one.
int64_t config_positive_int(const nlohmann::json& config, const char* key, const std::string& where);

// Returns the first of `keys` present in config as a positive integer (e.g.
// {"n_embd", "hidden_size"}: GPT-2-style configs name fields differently).
// Throws Error naming `where` and the keys if none is present and valid.
int64_t config_positive_int(const nlohmann::json& config, std::initializer_list<const char*> keys,
                            const std::string& where);

// Returns config[key] as a token id (the first one if it is a list), or -1.
int32_t config_token_id(const nlohmann::json& config, const char* key, const std::string& where);

// Returns the config of a GPT-2-style model (gpt2, codegen): n_embd, n_layer,
// n_head, n_inner (default 4 n_embd), n_positions, layer_norm_epsilon, or
// their Hugging Face aliases; tie_word_embeddings defaults to
// tied_by_default. Throws Error naming `where` and the missing or bad key.
ModelConfig gpt_style_config_from_json(const nlohmann::json& config, const std::string& where,
                                       bool tied_by_default);

// Returns the llama-family config (llama, mistral, qwen2) in `config`.
// Throws Error naming `where` (the config's path) and the missing or bad key.
ModelConfig llama_config_from_json(const nlohmann::json& config, const std::string& where);

}  // namespace wquant
