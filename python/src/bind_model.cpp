// Running models from Python: a loaded checkpoint (causal LM or encoder)
// with its tokenizer, logits, generation one token at a time, evaluation
// and embeddings. Long calls release the GIL.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <memory>

#include "common.h"
#include "wquant/io/checkpoint.h"
#include "wquant/models/causal_lm.h"
#include "wquant/models/encoder.h"
#include "wquant/io/html_chart.h"
#include "wquant/runtime/eval_report.h"
#include "wquant/runtime/evaluate.h"
#include "wquant/runtime/generate.h"
#include "wquant/tokenizer/tokenizer.h"

namespace wquant::python {
namespace {

// A checkpoint loaded to run: exactly one of lm / encoder, and its
// tokenizer when one was found (else why not).
struct Model {
  std::string path;
  std::unique_ptr<CheckpointReader> ckpt;
  std::unique_ptr<CausalLM> lm;
  std::unique_ptr<Encoder> encoder;
  std::unique_ptr<Tokenizer> tokenizer;
  std::string no_tokenizer;  // the error that open_tokenizer gave

  CausalLM& causal_lm(const char* what) {
    if (!lm) fail(path, ": ", what, " needs a causal language model; this is an encoder (use embed)");
    return *lm;
  }
  Encoder& encoder_model() {
    if (!encoder) fail(path, ": embed needs an encoder (BERT-like) model; this is a causal LM (use logits)");
    return *encoder;
  }
  const Tokenizer& tok() const {
    if (!tokenizer) fail(no_tokenizer);
    return *tokenizer;
  }
};

std::unique_ptr<Model> load_model(const std::string& path, int64_t context, const std::string& tokenizer) {
  auto m = std::make_unique<Model>();
  m->path = path;
  m->ckpt = open_checkpoint(path);
  const auto encoders = supported_encoders();
  if (std::find(encoders.begin(), encoders.end(), m->ckpt->model_type()) != encoders.end())
    m->encoder = load_encoder(*m->ckpt);
  else
    m->lm = load_causal_lm(*m->ckpt, context);
  try {
    m->tokenizer = open_tokenizer(path, tokenizer);
  } catch (const Error& e) {
    if (!tokenizer.empty()) throw;  // asked for by name: its error is the user's
    m->no_tokenizer = e.what();
  }
  return m;
}

// Token ids from a Python sequence or array of integers.
std::vector<int32_t> ids_from(const std::vector<int64_t>& ids) {
  std::vector<int32_t> out;
  out.reserve(ids.size());
  for (int64_t id : ids) {
    if (id < 0 || id > INT32_MAX) fail("token id ", id, " is out of range");
    out.push_back(int32_t(id));
  }
  return out;
}

// Holds a Generator and what it needs alive (the model, by a Python reference).
struct Generation {
  std::unique_ptr<Generator> generator;
};

nb::dict result_dict(const GenerateResult& r) {
  nb::dict d;
  d["tokens"] = r.tokens;
  d["text"] = r.text;
  d["prompt_tokens"] = r.prompt_tokens;
  d["prompt_seconds"] = r.prompt_seconds;
  d["generate_seconds"] = r.generate_seconds;
  d["stopped_at_eos"] = r.stopped_at_eos;
  return d;
}

nb::dict eval_dict(const EvalResult& r) {
  nb::dict d;
  d["chunks"] = r.chunks;
  d["scored_tokens"] = r.scored_tokens;
  d["nll"] = r.nll;
  d["perplexity"] = r.perplexity;
  d["seconds"] = r.seconds;
  if (r.has_reference) {
    d["reference_perplexity"] = r.reference_perplexity;
    d["mean_kl"] = r.mean_kl;
    d["max_kl"] = r.max_kl;
    d["top1_agreement"] = r.top1_agreement;
  }
  return d;
}

}  // namespace

void bind_model(nb::module_& m) {
  nb::class_<Tokenizer>(m, "Tokenizer", "Text <-> token ids, as the `tokenizers` package computes them.")
      .def("encode", [](const Tokenizer& t, const std::string& text, bool add_special_tokens) {
             return t.encode(text, add_special_tokens);
           }, nb::arg("text"), nb::arg("add_special_tokens") = true)
      .def("decode", [](const Tokenizer& t, const std::vector<int64_t>& ids, bool skip_special_tokens) {
             const auto v = ids_from(ids);
             return t.decode(v, skip_special_tokens);
           }, nb::arg("ids"), nb::arg("skip_special_tokens") = false)
      .def("token_to_id", [](const Tokenizer& t, const std::string& token) { return t.token_to_id(token); })
      .def("id_to_token", [](const Tokenizer& t, int32_t id) { return t.id_to_token(id); })
      .def_prop_ro("bos_id", [](const Tokenizer& t) { return t.bos_id(); })
      .def_prop_ro("eos_id", [](const Tokenizer& t) { return t.eos_id(); })
      .def_prop_ro("vocab_size", [](const Tokenizer& t) { return t.vocab_size(); });
  m.def("load_tokenizer", [](const std::string& path) { return open_tokenizer(path, path.ends_with(".json") || path.ends_with(".gguf") ? path : ""); },
        nb::arg("path"), "Loads a tokenizer.json, a GGUF vocabulary, or a model directory's tokenizer.");
  m.def("chatml_prompt", &chatml_prompt, nb::arg("user"), nb::arg("system") = "");

  nb::class_<Generation>(m, "Generation", "Generation in progress: next() gives each piece of text.")
      .def("next", [](Generation& g) {
             nb::gil_scoped_release release;
             return g.generator->next();
           }, "The next piece of text ('' while a character spans tokens), or None when finished.")
      .def_prop_ro("result", [](const Generation& g) { return result_dict(g.generator->result()); });

  nb::class_<Model>(m, "Model", "A checkpoint loaded to run.")
      .def_prop_ro("path", [](const Model& md) { return md.path; })
      .def_prop_ro("kind", [](const Model& md) { return md.lm ? "causal_lm" : "encoder"; })
      .def_prop_ro("config", [](const Model& md) { return md.ckpt->config().dump(); }, "config.json as a JSON string.")
      .def_prop_ro("has_tokenizer", [](const Model& md) { return md.tokenizer != nullptr; })
      .def_prop_ro("tokenizer", [](const Model& md) -> const Tokenizer& { return md.tok(); },
                   nb::rv_policy::reference_internal)
      .def_prop_ro("context_length", [](Model& md) { return md.causal_lm("context_length").context_length(); })
      .def_prop_ro("hidden_size", [](Model& md) -> int64_t {
        return md.lm ? md.lm->config().hidden_size : md.encoder->hidden_size();
      })
      .def("logits",
           [](Model& md, const std::vector<int64_t>& ids) {
             CausalLM& lm = md.causal_lm("logits");
             const auto tokens = ids_from(ids);
             if (tokens.empty()) fail("logits: no token ids");
             const int64_t vocab = lm.config().vocab_size;
             std::vector<float> out(tokens.size() * size_t(vocab));
             {
               nb::gil_scoped_release release;
               lm.reset();
               lm.forward(tokens.data(), int64_t(tokens.size()), out.data(), true);
             }
             return to_numpy(std::move(out), {tokens.size(), size_t(vocab)});
           },
           nb::arg("ids"), "Logits of every position, float32 [len(ids), vocab], from an empty cache.")
      .def("generate",
           [](Model& md, const std::vector<int64_t>& prompt, int64_t max_new_tokens, float temperature, int top_k,
              float top_p, uint64_t seed, bool stop_at_eos) {
             GenerateOptions o;
             o.max_new_tokens = max_new_tokens;
             o.sampling = {temperature, top_k, top_p, seed};
             o.stop_at_eos = stop_at_eos;
             Generation g;
             g.generator = std::make_unique<Generator>(md.causal_lm("generate"), md.tok(), ids_from(prompt), o);
             return g;
           },
           nb::arg("prompt"), nb::arg("max_new_tokens"), nb::arg("temperature"), nb::arg("top_k"),
           nb::arg("top_p"), nb::arg("seed"), nb::arg("stop_at_eos"), nb::keep_alive<0, 1>(),
           "Starts generating from prompt ids (templated and encoded). One generation per model at a time.")
      .def("evaluate",
           [](Model& md, const std::vector<int64_t>& ids, int64_t context, int64_t max_chunks, Model* reference,
              nb::object progress, const std::string& report) {
             CausalLM& lm = md.causal_lm("perplexity");
             CausalLM* ref = reference ? &reference->causal_lm("the reference of perplexity") : nullptr;
             const auto tokens = ids_from(ids);
             if (!report.empty()) html::check_page_path(report);
             EvalResult r;
             {
               nb::gil_scoped_release release;
               r = evaluate(lm, ref, tokens, EvalOptions{context, max_chunks},
                            [&](int64_t done, int64_t total) { report_progress(progress, done, total); });
             }
             if (!report.empty())
               write_eval_report_html(r, {md.path, reference ? reference->path : "", "text from Python",
                                          int64_t(tokens.size()), context}, report);
             nb::dict d = eval_dict(r);
             nb::list windows;
             for (const auto& c : r.per_chunk) {
               nb::dict w;
               w["nll"] = c.nll;
               if (r.has_reference) {
                 w["reference_nll"] = c.reference_nll;
                 w["mean_kl"] = c.mean_kl;
                 w["max_kl"] = c.max_kl;
                 w["top1_agreement"] = c.top1_agreement;
               }
               windows.append(w);
             }
             d["windows"] = windows;
             return d;
           },
           nb::arg("ids"), nb::arg("context"), nb::arg("max_chunks"), nb::arg("reference").none(),
           nb::arg("progress").none(), nb::arg("report") = "")
      .def("embed",
           [](Model& md, const std::vector<int64_t>& ids, bool pooled) {
             Encoder& enc = md.encoder_model();
             const auto tokens = ids_from(ids);
             const int64_t H = enc.hidden_size();
             std::vector<float> hidden;
             {
               nb::gil_scoped_release release;
               hidden = enc.embed(tokens);
               if (pooled) hidden = mean_pool_normalize(hidden, int64_t(tokens.size()), H);
             }
             std::vector<size_t> shape = pooled ? std::vector<size_t>{size_t(H)}
                                                : std::vector<size_t>{tokens.size(), size_t(H)};
             return to_numpy(std::move(hidden), shape);
           },
           nb::arg("ids"), nb::arg("pooled"),
           "The last hidden state [len(ids), hidden] or, pooled, its normalised mean [hidden].");
  m.def("load", &load_model, nb::arg("path"), nb::arg("context") = 0, nb::arg("tokenizer") = "",
        "Loads a model (directory, .safetensors, .gguf) and its tokenizer.");
}

}  // namespace wquant::python
