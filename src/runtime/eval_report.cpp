#include "wquant/runtime/eval_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "wquant/core/error.h"
#include "wquant/io/html_chart.h"

namespace wquant {
namespace {

using namespace html;

constexpr const char* kModelColour = "#3b6fb6";
constexpr const char* kReferenceColour = "#b4bcc6";
constexpr const char* kMaxColour = "#d9822b";
constexpr double kPlotHeight = 200, kTop = 48, kLeft = 70, kRight = 20, kBottom = 44;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// One column chart over the windows: for each, the bars of `series` side by
// side (colour, value), on a scale from 0 to the largest value (or `fixed_max`).
std::string columns(const std::string& title, const std::string& note, const std::string& axis_title,
                    const std::vector<std::pair<std::string, std::vector<double>>>& series,
                    const std::vector<std::pair<std::string, std::string>>& legend_items,
                    const std::function<std::string(double)>& tick, double fixed_max = 0) {
  const size_t n = series.front().second.size();
  double top = fixed_max;
  if (top <= 0)
    for (const auto& s : series)
      for (double v : s.second)
        if (std::isfinite(v)) top = std::max(top, v);
  const Scale scale = nice_scale(top);
  const double height = kTop + kPlotHeight + kBottom + 24;
  const double plot_w = kWidth - kLeft - kRight, bottom = kTop + kPlotHeight;
  const double slot = plot_w / double(n), bar = std::max(0.5, slot * 0.8 / double(series.size()));
  std::string out = "<h2>" + html_escape(title) + "</h2>\n<p class=\"note\">" + html_escape(note) + "</p>\n" +
                    svg_open(height, title) + y_axis(kLeft, plot_w, kTop, bottom, scale, tick, axis_title);
  for (size_t i = 0; i < n; ++i) {
    const double x = kLeft + slot * double(i) + slot * 0.1;
    for (size_t s = 0; s < series.size(); ++s) {
      const double v = std::clamp(series[s].second[i], 0.0, scale.max);
      const double h = kPlotHeight * v / scale.max;
      out += "<g class=\"bar\" data-chart=\"" + html_escape(title) + "\" data-window=\"" + std::to_string(i + 1) +
             "\" data-value=\"" + fmt("%.9g", series[s].second[i]) + "\"><title>window " + std::to_string(i + 1) +
             ": " + short_number(series[s].second[i]) + "</title>" +
             rect(x + bar * double(s), bottom - h, bar, h, series[s].first.c_str()) + "</g>";
    }
    out += "\n";
  }
  // Window numbers: about 10 labels whatever the count.
  const size_t every = std::max<size_t>(1, (n + 9) / 10);
  for (size_t i = 0; i < n; i += every)
    out += text(kLeft + slot * (double(i) + 0.5), bottom + 15, std::to_string(i + 1), "tick", "middle");
  out += text(kLeft + plot_w / 2, bottom + 32, "window (chunk of the text, in order)", "axis-label", "middle") + "\n";
  out += legend(kLeft, height - 8, legend_items);
  return out + "</svg>\n";
}

std::string fact(const std::string& name, const std::string& value) {
  return "<tr><th>" + html_escape(name) + "</th><td>" + html_escape(value) + "</td></tr>\n";
}

}  // namespace

std::string eval_report_html(const EvalResult& r, const EvalReportInfo& info) {
  if (r.per_chunk.empty()) fail("the evaluation has no window to draw");
  const bool ref = r.has_reference;
  std::string body = "<h1>wquant evaluation</h1>\n<table class=\"facts\">\n" + fact("model", info.model);
  if (ref) body += fact("reference", info.reference);
  body += fact("text", info.text + ": " + std::to_string(info.text_tokens) + " tokens") +
          fact("windows", std::to_string(r.chunks) + " of " + std::to_string(info.context) + " tokens, " +
                              std::to_string(r.scored_tokens) + " tokens scored") +
          fact("perplexity", fmt("%.4f", r.perplexity));
  if (ref)
    body += fact("reference perplexity", fmt("%.4f", r.reference_perplexity) + " (model " +
                                             fmt("%+.4f", r.perplexity - r.reference_perplexity) + ")") +
            fact("mean KL divergence", fmt("%.6f", r.mean_kl) + " nats (max over tokens " + fmt("%.4f", r.max_kl) + ")") +
            fact("top-1 agreement", fmt("%.2f", 100 * r.top1_agreement) + " %");
  body += "</table>\n";

  std::vector<double> ppl, ref_ppl, kl, max_kl, top1;
  for (const auto& c : r.per_chunk) {
    ppl.push_back(std::exp(c.nll));
    ref_ppl.push_back(std::exp(c.reference_nll));
    kl.push_back(c.mean_kl);
    max_kl.push_back(c.max_kl);
    top1.push_back(100 * c.top1_agreement);
  }
  if (ref) {
    body += columns("KL divergence per window",
                    "Mean over the window's tokens of KL(reference || model) of the next-token distributions, "
                    "nats; hover a bar for its value. The max is the window's worst token.",
                    "KL divergence (nats)", {{kModelColour, kl}},
                    {{kModelColour, "mean KL"}}, [](double v) { return short_number(v); });
    body += columns("Largest KL divergence per window", "The window's worst token, nats.", "max KL (nats)",
                    {{kMaxColour, max_kl}}, {{kMaxColour, "max KL"}}, [](double v) { return short_number(v); });
    body += columns("Top-1 agreement per window",
                    "Share of the window's tokens whose most likely next token is the reference's.",
                    "top-1 agreement (%)", {{kModelColour, top1}}, {{kModelColour, "top-1 agreement"}},
                    [](double v) { return fmt("%.0f", v); }, 100);
  }
  std::vector<std::pair<std::string, std::vector<double>>> ppl_series{{kModelColour, ppl}};
  std::vector<std::pair<std::string, std::string>> ppl_legend{{kModelColour, "model"}};
  if (ref) {
    ppl_series.insert(ppl_series.begin(), {kReferenceColour, ref_ppl});
    ppl_legend.insert(ppl_legend.begin(), {kReferenceColour, "reference"});
  }
  body += columns("Perplexity per window", "exp(mean negative log-likelihood of the window's next tokens).",
                  "perplexity", ppl_series, ppl_legend, [](double v) { return short_number(v); });
  return page("wquant evaluation: " + info.model, body);
}

void write_eval_report_html(const EvalResult& result, const EvalReportInfo& info, const std::string& path) {
  write_page(path, eval_report_html(result, info));
}

}  // namespace wquant
