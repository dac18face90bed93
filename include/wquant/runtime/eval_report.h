// The evaluation as one self-contained HTML page (`wquant eval --report
// FILE.html`): the figures of the run, then per window (chunk) the model's
// perplexity (and the reference's), and with a reference the KL divergence
// (mean and max) and the top-1 agreement. Inline SVG and CSS, no script.
#pragma once

#include <string>

#include "wquant/runtime/evaluate.h"

namespace wquant {

// What the page names: the files and the settings of the run.
struct EvalReportInfo {
  std::string model, reference, text;
  int64_t text_tokens = 0, context = 0;
};

// Returns the page. Throws Error if the result has no chunk.
std::string eval_report_html(const EvalResult& result, const EvalReportInfo& info);

// Writes eval_report_html atomically to `path` (html::write_page). Throws
// Error naming `path` on failure.
void write_eval_report_html(const EvalResult& result, const EvalReportInfo& info, const std::string& path);

}  // namespace wquant
