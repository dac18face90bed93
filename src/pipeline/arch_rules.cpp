// Per-architecture tables of linear-layer weight names (Hugging Face names).
// Each pattern is matched against the end of the tensor name, so the usual
// prefixes ("model.", "transformer.", "bert.") need not be spelled out.
#include "wquant/pipeline/arch_rules.h"

#include <regex>

namespace wquant {
namespace {

bool ends_with_match(const std::string& name, const std::regex& re) {
  return std::regex_search(name, re);
}

bool is_2d(const Shape& shape) { return shape.size() == 2; }

// The rule most tables follow: a 2-D tensor matching `linear` is a linear
// layer, "lm_head.weight" the head (when the architecture has one), one
// matching `embed` an embedding, anything else is copied.
TensorClass classify_by(const std::string& name, const Shape& shape, const std::regex& linear,
                        const std::regex& embed, bool transposed = false, bool lm_head = true) {
  if (!is_2d(shape)) return {};
  if (ends_with_match(name, linear)) return {TensorRole::Linear, transposed};
  if (lm_head && name == "lm_head.weight") return {TensorRole::LmHead};
  if (ends_with_match(name, embed)) return {TensorRole::Embedding};
  return {};
}

// Llama family: llama, mistral, qwen2 (SmolLM2 is llama).
//   model.layers.N.self_attn.{q,k,v,o}_proj.weight   [out, in]
//   model.layers.N.mlp.{gate,up,down}_proj.weight    [out, in]
//   lm_head.weight, model.embed_tokens.weight
TensorClass classify_llama(const std::string& name, const Shape& shape) {
  static const std::regex linear(
      R"(layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)\.weight$)");
  static const std::regex embed(R"(embed_tokens\.weight$)");
  return classify_by(name, shape, linear, embed);
}

// Phi-3: fused projections.
//   model.layers.N.self_attn.{qkv,o}_proj.weight, model.layers.N.mlp.{gate_up,down}_proj.weight
TensorClass classify_phi3(const std::string& name, const Shape& shape) {
  static const std::regex linear(R"(layers\.\d+\.(self_attn\.(qkv|o)_proj|mlp\.(gate_up|down)_proj)\.weight$)");
  static const std::regex embed(R"(embed_tokens\.weight$)");
  return classify_by(name, shape, linear, embed);
}

// GPT-2: Conv1D weights stored [in, out].
//   h.N.attn.c_attn.weight [768, 2304], h.N.attn.c_proj.weight,
//   h.N.mlp.c_fc.weight, h.N.mlp.c_proj.weight; wte/wpe embeddings.
TensorClass classify_gpt2(const std::string& name, const Shape& shape) {
  static const std::regex linear(R"(h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$)");
  static const std::regex embed(R"((^|\.)(wte|wpe)\.weight$)");
  return classify_by(name, shape, linear, embed, /*transposed=*/true);
}

// OPT: decoder.layers.N.self_attn.{q,k,v,out}_proj, fc1, fc2, and
// OPT-350m's decoder.project_in / project_out (512 <-> 1024).
TensorClass classify_opt(const std::string& name, const Shape& shape) {
  static const std::regex linear(
      R"((layers\.\d+\.(self_attn\.(q|k|v|out)_proj|fc1|fc2)|decoder\.project_(in|out))\.weight$)");
  static const std::regex embed(R"(embed_(tokens|positions)\.weight$)");
  return classify_by(name, shape, linear, embed);
}

// CodeGen: h.N.attn.qkv_proj (fused), h.N.attn.out_proj, h.N.mlp.fc_in, fc_out.
TensorClass classify_codegen(const std::string& name, const Shape& shape) {
  static const std::regex linear(
      R"(h\.\d+\.(attn\.qkv_proj|attn\.out_proj|mlp\.fc_in|mlp\.fc_out)\.weight$)");
  static const std::regex embed(R"((^|\.)wte\.weight$)");
  return classify_by(name, shape, linear, embed);
}

// BERT encoder: encoder.layer.N.attention.self.{query,key,value},
// attention.output.dense, intermediate.dense, output.dense, pooler.dense,
// and BertForMaskedLM's cls.predictions.transform.dense.
TensorClass classify_bert(const std::string& name, const Shape& shape) {
  static const std::regex linear(
      R"((layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)|pooler\.dense|cls\.predictions\.transform\.dense)\.weight$)");
  static const std::regex embed(R"(embeddings\.(word|position|token_type)_embeddings\.weight$)");
  return classify_by(name, shape, linear, embed, false, /*lm_head=*/false);
}

// DETR (facebook/detr-resnet-50): the transformer's linear layers and the
// class / box heads; the convolutional backbone and input_projection (4-D
// convolution weights) and the query embeddings stay float.
//   model.{encoder,decoder}.layers.N.{self_attn,encoder_attn}.{q,k,v,out}_proj
//   model.{encoder,decoder}.layers.N.fc1 / fc2
//   class_labels_classifier, bbox_predictor.layers.N
// (transformers 5 renames out_proj to o_proj and fc1 / fc2 to mlp.fc1 / fc2
// in memory; both spellings are accepted.)
TensorClass classify_detr(const std::string& name, const Shape& shape) {
  static const std::regex linear(
      R"(((encoder|decoder)\.layers\.\d+\.((self_attn|encoder_attn)\.(q|k|v|o|out)_proj|(mlp\.)?fc[12])|class_labels_classifier|bbox_predictor\.layers\.\d+)\.weight$)");
  static const std::regex embed(R"(query_position_embeddings\.weight$)");
  return classify_by(name, shape, linear, embed, false, /*lm_head=*/false);
}

// Unknown architectures: a 2-D ".weight" is linear unless its name says it
// is an embedding or a norm. lm_head stays excluded.
TensorClass classify_generic(const std::string& name, const Shape& shape) {
  static const std::regex weight(R"(\.weight$)");
  static const std::regex embed(R"((embed|wte|wpe|tok_embeddings|word_embeddings|position_embeddings|token_type_embeddings))");
  static const std::regex norm(R"((norm|ln_|layernorm|LayerNorm))");
  if (!is_2d(shape) || !ends_with_match(name, weight)) return {};
  if (name == "lm_head.weight") return {TensorRole::LmHead};
  if (ends_with_match(name, embed)) return {TensorRole::Embedding};
  if (ends_with_match(name, norm)) return {};
  return {TensorRole::Linear};
}

// AWQ's smoothing pairs (as AutoAWQ and llm-compressor map them). A pair
// whose previous linear layer's outputs do not match the layers' inputs
// (grouped-query attention: v_proj narrower than o_proj's input) is skipped
// where it is applied. GPT-2's c_attn -> c_proj is not a pair (c_attn's
// output is q, k and v); ReLU / GELU between fc1 and fc2 forbid that one.
std::vector<SmoothingRule> smoothing_llama() {
  return {{"input_layernorm", false, {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"}},
          {"self_attn.v_proj", true, {"self_attn.o_proj"}},
          {"post_attention_layernorm", false, {"mlp.gate_proj", "mlp.up_proj"}},
          {"mlp.up_proj", true, {"mlp.down_proj"}}};
}
// Phi-3: q, k, v come out of one fused layer, gate and up too, so only the
// norms smooth into them.
std::vector<SmoothingRule> smoothing_phi3() {
  return {{"input_layernorm", false, {"self_attn.qkv_proj"}},
          {"post_attention_layernorm", false, {"mlp.gate_up_proj"}}};
}
std::vector<SmoothingRule> smoothing_opt() {
  return {{"self_attn_layer_norm", false, {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"}},
          {"self_attn.v_proj", true, {"self_attn.out_proj"}},
          {"final_layer_norm", false, {"fc1"}}};
}
std::vector<SmoothingRule> smoothing_gpt2() {
  return {{"ln_1", false, {"attn.c_attn"}}, {"ln_2", false, {"mlp.c_fc"}}};
}
std::vector<SmoothingRule> smoothing_codegen() {  // parallel attention and MLP, both after ln_1
  return {{"ln_1", false, {"attn.qkv_proj", "mlp.fc_in"}}};
}

struct Entry {
  const char* model_type;
  TensorClass (*classify)(const std::string&, const Shape&);
  std::vector<SmoothingRule> (*smoothing)();
};

const Entry kRules[] = {
    {"llama", classify_llama, smoothing_llama},     {"mistral", classify_llama, smoothing_llama},
    {"qwen2", classify_llama, smoothing_llama},     {"qwen3", classify_llama, smoothing_llama},
    // Gemma's norms scale by 1 + w: a smoothing folded into them is not w / s,
    // so no AWQ pairs (AWQ says so and quantizes without them).
    {"gemma", classify_llama, nullptr},             {"gemma2", classify_llama, nullptr},
    {"gemma3_text", classify_llama, nullptr},       {"phi3", classify_phi3, smoothing_phi3},
    {"gpt2", classify_gpt2, smoothing_gpt2},
    {"opt", classify_opt, smoothing_opt},           {"codegen", classify_codegen, smoothing_codegen},
    {"bert", classify_bert, nullptr},               {"detr", classify_detr, nullptr},
};

}  // namespace

ArchRules arch_rules_for(const std::string& model_type) {
  for (const auto& e : kRules)
    if (model_type == e.model_type)
      return {model_type, true, e.classify, e.smoothing ? e.smoothing() : std::vector<SmoothingRule>{}};
  return {"generic", false, classify_generic, {}};
}

std::vector<std::string> known_model_types() {
  std::vector<std::string> out;
  for (const auto& e : kRules) out.push_back(e.model_type);
  return out;
}

}  // namespace wquant
