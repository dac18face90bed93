#include "wquant/models/config.h"

#include "wquant/core/error.h"
#include "wquant/io/json_number.h"

namespace wquant {
int64_t config_positive_int(const nlohmann::json& c, const char* key, const std::string& where) {
  if (!c.contains(key) || c[key].is_null()) fail(where, ": config key '", key, "' missing");
  return json_int(c[key], 1, INT32_MAX, cat(where, ": config key '", key, "'"));
}

int64_t config_positive_int(const nlohmann::json& c, std::initializer_list<const char*> keys,
                            const std::string& where) {
  std::string names;
  for (const char* key : keys) {
    if (c.contains(key) && !c[key].is_null()) return config_positive_int(c, key, where);
    names += std::string(names.empty() ? "'" : " / '") + key + "'";
  }
  fail(where, ": config key ", names, " missing or not a positive integer");
}

int32_t config_token_id(const nlohmann::json& c, const char* key, const std::string& where) {
  if (!c.contains(key)) return -1;
  const auto& v = c[key];
  const std::string what = cat(where, ": config key '", key, "'");
  if (v.is_number()) return int32_t(json_int(v, -1, INT32_MAX, what));
  if (v.is_array() && !v.empty() && v[0].is_number()) return int32_t(json_int(v[0], -1, INT32_MAX, what));
  return -1;
}

ModelConfig llama_config_from_json(const nlohmann::json& c, const std::string& where) try {
  if (!c.is_object()) fail(where, ": config is not a JSON object");
  ModelConfig m;
  m.model_type = c.value("model_type", "");
  m.hidden_size = config_positive_int(c, "hidden_size", where);
  m.intermediate_size = config_positive_int(c, "intermediate_size", where);
  m.num_layers = config_positive_int(c, "num_hidden_layers", where);
  m.num_heads = config_positive_int(c, "num_attention_heads", where);
  m.num_kv_heads = c.contains("num_key_value_heads") && !c["num_key_value_heads"].is_null()
                       ? config_positive_int(c, "num_key_value_heads", where)
                       : m.num_heads;
  m.head_dim = c.contains("head_dim") && !c["head_dim"].is_null() ? config_positive_int(c, "head_dim", where)
                                                                   : m.hidden_size / m.num_heads;
  m.vocab_size = config_positive_int(c, "vocab_size", where);
  m.max_positions = json_int_or(c, "max_position_embeddings", 2048, 1, INT32_MAX, where + ": config key");
  m.rms_norm_eps = json_float_or(c, "rms_norm_eps", 1e-6f, where + ": config key");
  float theta = json_float_or(c, "rope_theta", 0.0f, where + ": config key");
  if (theta == 0 && c.contains("rope_parameters") && c["rope_parameters"].is_object())
    theta = json_float_or(c["rope_parameters"], "rope_theta", 0.0f, where + ": config key rope_parameters");
  m.rope_theta = theta > 0 ? theta : 10000.0f;
  m.tie_word_embeddings = c.value("tie_word_embeddings", false);
  m.attention_bias = c.value("attention_bias", m.model_type == "qwen2");
  m.bos_token_id = config_token_id(c, "bos_token_id", where);
  m.eos_token_id = config_token_id(c, "eos_token_id", where);
  if (m.num_heads % m.num_kv_heads != 0)
    fail(where, ": num_attention_heads ", m.num_heads, " is not a multiple of num_key_value_heads ",
         m.num_kv_heads);
  if (m.head_dim % 2 != 0) fail(where, ": head_dim ", m.head_dim, " is odd (rotary needs pairs)");
  return m;
} catch (const nlohmann::json::exception& e) {  // a value of the wrong JSON type
  fail(where, ": config: unexpected content: ", e.what());
}

ModelConfig gpt_style_config_from_json(const nlohmann::json& c, const std::string& where,
                                       bool tied_by_default) try {
  if (!c.is_object()) fail(where, ": config is not a JSON object");
  ModelConfig m;
  m.model_type = c.value("model_type", "");
  m.hidden_size = config_positive_int(c, {"n_embd", "hidden_size"}, where);
  m.num_layers = config_positive_int(c, {"n_layer", "num_hidden_layers"}, where);
  m.num_heads = config_positive_int(c, {"n_head", "num_attention_heads"}, where);
  m.num_kv_heads = m.num_heads;
  m.intermediate_size = c.contains("n_inner") && !c["n_inner"].is_null()
                            ? config_positive_int(c, "n_inner", where)
                            : 4 * m.hidden_size;
  m.vocab_size = config_positive_int(c, "vocab_size", where);
  m.max_positions = config_positive_int(c, {"n_positions", "max_position_embeddings"}, where);
  m.layer_norm_eps = json_float_or(c, "layer_norm_epsilon", 1e-5f, where + ": config key");
  m.tie_word_embeddings = c.value("tie_word_embeddings", tied_by_default);
  m.bos_token_id = config_token_id(c, "bos_token_id", where);
  m.eos_token_id = config_token_id(c, "eos_token_id", where);
  if (m.hidden_size % m.num_heads != 0)
    fail(where, ": n_embd ", m.hidden_size, " is not a multiple of n_head ", m.num_heads);
  m.head_dim = m.hidden_size / m.num_heads;
  return m;
} catch (const nlohmann::json::exception& e) {  // a value of the wrong JSON type
  fail(where, ": config: unexpected content: ", e.what());
}

}  // namespace wquant
