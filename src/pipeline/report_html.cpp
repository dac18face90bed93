#include "wquant/pipeline/report_html.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>

#include "number_format.h"
#include "wquant/core/error.h"
#include "wquant/io/html_chart.h"
#include "wquant/pipeline/report.h"

namespace wquant {
namespace {

using detail::fixed;
using namespace html;

// Geometry, in SVG user units (CSS px when the page is 960 px wide or more).
constexpr double kCharWidth = 6.7;     // advance of an 11 px monospace glyph (0.6 em)
constexpr size_t kMaxLabelChars = 48;  // longer names are cut in the middle
constexpr double kRowHeight = 18;      // one bar per row (error charts)
constexpr double kPairRowHeight = 24;  // two bars per row (bytes chart)
constexpr double kAxisHeight = 40;     // ticks, their labels and the axis title
constexpr double kLegendHeight = 24;

// Colours: the same meaning keeps the same colour in every chart.
constexpr const char* kBeforeColour = "#b4bcc6";  // float bytes
constexpr const char* kAfterColour = "#3b6fb6";   // quantized bytes
constexpr const char* kOutputErrorColour = "#d9822b";
constexpr const char* kHistogramColour = "#3b6fb6";
// Schemes, in order of first appearance by depth (mixed precision runs).
constexpr const char* kSchemeColours[] = {"#4a9a6b", "#7b5ea7", "#2a9bb7", "#b5566a", "#8c7a3c", "#5f6b7a"};

// The layers' names as drawn: without the prefix all share up to a '.'
// (model.layers.), cut in the middle when longer than kMaxLabelChars.
struct Labels {
  std::string prefix;
  std::vector<std::string> names;  // by layer index
  double width = 0;                // of the label column
};

Labels make_labels(const std::vector<LayerReport>& layers) {
  Labels l;
  if (!layers.empty()) {
    std::string common = layers[0].layer;
    for (const auto& r : layers) {
      size_t n = 0;
      while (n < common.size() && n < r.layer.size() && common[n] == r.layer[n]) ++n;
      common.resize(n);
    }
    const size_t dot = common.rfind('.');
    l.prefix = dot == std::string::npos ? "" : common.substr(0, dot + 1);
  }
  size_t chars = 5;
  for (const auto& r : layers) {
    std::string s = r.layer.substr(l.prefix.size());
    if (s.size() > kMaxLabelChars) {  // bytes, not characters: names are ASCII in practice
      const size_t head = kMaxLabelChars / 2 - 1, tail = kMaxLabelChars - head - 1;
      s = s.substr(0, head) + "\u2026" + s.substr(s.size() - tail);
      chars = std::max(chars, kMaxLabelChars);
    } else {
      chars = std::max(chars, s.size());
    }
    l.names.push_back(std::move(s));
  }
  l.width = 16 + kCharWidth * double(chars);
  return l;
}

std::string prefix_note(const Labels& labels) {
  return labels.prefix.empty()
             ? ""
             : "<p class=\"note\">Layer names are shown without their common prefix <code>" +
                   html_escape(labels.prefix) + "</code>.</p>\n";
}

// Returns each scheme's colour (kSchemeColours in order of first appearance by depth).
std::map<std::string, const char*> scheme_colours(const std::vector<LayerReport>& layers) {
  std::map<std::string, const char*> colours;
  for (size_t i : layers_by_depth(layers)) {
    const std::string s = layers[i].scheme.describe();
    if (!colours.count(s))
      colours[s] = kSchemeColours[colours.size() % (sizeof kSchemeColours / sizeof *kSchemeColours)];
  }
  return colours;
}

std::string section_header(const QuantizeReport& r) {
  std::map<std::string, size_t> schemes;
  for (const auto& l : r.layers) ++schemes[l.scheme.describe()];
  std::string scheme_list;
  for (const auto& [name, n] : schemes)
    scheme_list += (scheme_list.empty() ? "" : ", ") + name + " (" + std::to_string(n) + " layers)";
  std::string method = r.recipe.is_object() ? r.recipe.value("method", std::string("?"))
                                             : (r.layers.empty() ? "?" : r.layers[0].method);
  const double ratio = r.total_after ? double(r.total_before) / double(r.total_after) : 0;
  const std::vector<std::pair<std::string, std::string>> facts = {
      {"model_type", r.model_type + (r.known_architecture ? "" : " (unknown architecture: generic rule)")},
      {"input", r.input},
      {"output", r.output},
      {"method", method},
      {"scheme", scheme_list},
      {"layers", std::to_string(r.layers.size()) + " quantized of " + std::to_string(r.tensors) + " tensors"},
      {"time", fixed(r.seconds, 2) + " s"},
      {"peak RSS", human_bytes(r.peak_rss_bytes)}};
  std::string out = "<h1>wquant quantization report</h1>\n<table class=\"facts\">\n";
  for (const auto& f : facts)
    out += "<tr><th>" + html_escape(f.first) + "</th><td>" + html_escape(f.second) + "</td></tr>\n";
  out += "</table>\n<h2>Footprint</h2>\n";
  // Two bars on one scale: every tensor at its float dtype, and as written.
  const double label_w = 130, value_w = 220, bar_w = kWidth - label_w - value_w;
  const double full = double(std::max(r.total_before, r.total_after));
  const double height = 2 * 30 + 8;
  out += svg_open(height, "footprint before and after");
  const std::pair<const char*, uint64_t> bars[] = {{"before (float)", r.total_before},
                                                   {"after (quantized)", r.total_after}};
  for (int i = 0; i < 2; ++i) {
    const double y = 4 + 30 * i;
    out += text(0, y + 15, bars[i].first) +
           rect(label_w, y + 2, full > 0 ? bar_w * double(bars[i].second) / full : 0, 18,
                i == 0 ? kBeforeColour : kAfterColour) +
           text(label_w + bar_w + 10, y + 15, human_bytes(bars[i].second), "mono") + "\n";
  }
  out += "</svg>\n<p class=\"note\"><b>" + fixed(ratio, 2) + "x smaller</b>: " +
         human_bytes(r.total_before) + " (" + std::to_string(r.total_before) + " B) &rarr; " +
         human_bytes(r.total_after) + " (" + std::to_string(r.total_after) +
         " B), all tensors; before counts each tensor at its float dtype.</p>\n";
  if (!r.warnings.empty()) {
    out += "<ul class=\"warnings\">\n";
    for (const auto& w : r.warnings) out += "<li>" + html_escape(w) + "</li>\n";
    out += "</ul>\n";
  }
  return out;
}

// Returns a layer row's group, whose data-layer and title carry the full name.
std::string row_open(const LayerReport& l) {
  return "<g class=\"layer\" data-layer=\"" + html_escape(l.layer) + "\"><title>" + html_escape(l.layer) +
         "</title>";
}

std::string section_bytes(const QuantizeReport& r, const Labels& labels) {
  const std::vector<size_t> order = layers_by_depth(r.layers);
  const double value_w = 190, x0 = labels.width, bar_w = kWidth - x0 - value_w;
  uint64_t most = 0;
  for (const auto& l : r.layers) most = std::max({most, l.bytes_before, l.bytes_after});
  const Scale s = nice_scale(double(most));
  const double top = kLegendHeight, bottom = top + kPairRowHeight * double(order.size());
  std::string out = "<h2>Bytes per layer</h2>\n" + prefix_note(labels) +
                    svg_open(bottom + kAxisHeight, "bytes per layer before and after");
  out += legend(x0, 14, {{kBeforeColour, "before (float)"}, {kAfterColour, "after (packed + scales)"}});
  // The axis and its grid first: the bars are drawn over the grid lines.
  out += x_axis(x0, bar_w, top, bottom, s, [](double v) { return human_bytes(uint64_t(std::llround(v))); },
                "bytes per layer (1 kB = 1000 B)");
  for (size_t k = 0; k < order.size(); ++k) {
    const LayerReport& l = r.layers[order[k]];
    const double y = top + kPairRowHeight * double(k);
    out += row_open(l) + text(x0 - 8, y + 15, labels.names[order[k]], "mono", "end") +
           rect(x0, y + 3, bar_w * double(l.bytes_before) / s.max, 8, kBeforeColour) +
           rect(x0, y + 12, bar_w * double(l.bytes_after) / s.max, 8, kAfterColour) +
           text(x0 + bar_w + 10, y + 15, human_bytes(l.bytes_before) + " \u2192 " + human_bytes(l.bytes_after),
                "mono") +
           "</g>\n";
  }
  return out + "</svg>\n";
}

// One chart of SQNR bars (and output-error bars when calibrated) in `order`.
std::string section_errors(const QuantizeReport& r, const Labels& labels, const std::vector<size_t>& order,
                           const std::string& title, const std::string& note) {
  bool has_output = false;
  double best = 0, worst_output = 0;
  for (const auto& l : r.layers) {
    if (std::isfinite(l.error.sqnr_db)) best = std::max(best, l.error.sqnr_db);
    if (l.output_error >= 0) has_output = true, worst_output = std::max(worst_output, l.output_error);
  }
  const auto colours = scheme_colours(r.layers);
  const double x0 = labels.width, sqnr_value_w = 175, out_value_w = 64, gap = 20;
  const double avail = kWidth - x0 - sqnr_value_w - (has_output ? out_value_w + gap : 0);
  const double sqnr_w = has_output ? avail * 0.6 : avail, out_w = avail - sqnr_w;
  const double out_x0 = x0 + sqnr_w + sqnr_value_w + gap;
  const Scale s = nice_scale(best), so = nice_scale(worst_output);
  const double top = kLegendHeight, bottom = top + kRowHeight * double(order.size());

  std::string out = "<h2>" + html_escape(title) + "</h2>\n<p class=\"note\">" + html_escape(note) + "</p>\n" +
                    svg_open(bottom + kAxisHeight, title);
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& [scheme, colour] : colours) items.push_back({colour, "SQNR, " + scheme});
  if (has_output) items.push_back({kOutputErrorColour, "output error on the calibration text"});
  out += legend(x0, 14, items);
  // The axes and their grids first: the bars are drawn over the grid lines.
  out += x_axis(x0, sqnr_w, top, bottom, s, [](double v) { return fixed(v, 0); },
                "SQNR of the weight (dB), longer is better");
  if (has_output)
    out += x_axis(out_x0, out_w, top, bottom, so, [](double v) { return fixed(v, 3); },
                  "||(W\u2212Q)X|| / ||WX||, shorter is better");
  for (size_t k = 0; k < order.size(); ++k) {
    const LayerReport& l = r.layers[order[k]];
    const double y = top + kRowHeight * double(k);
    const double sqnr = l.error.sqnr_db;
    const double len = std::isinf(sqnr) ? (sqnr > 0 ? 1.0 : 0.0) : std::clamp(sqnr / s.max, 0.0, 1.0);
    const std::string scheme = l.scheme.describe();
    out += row_open(l) + text(x0 - 8, y + 13, labels.names[order[k]], "mono", "end") +
           rect(x0, y + 3, sqnr_w * len, 12, colours.at(scheme)) +
           text(x0 + sqnr_w + 8, y + 13, (std::isinf(sqnr) ? std::string("exact") : fixed(sqnr, 2) + " dB") +
                                              "  " + scheme, "mono");
    if (has_output) {
      out += l.output_error >= 0 ? rect(out_x0, y + 3, out_w * std::min(1.0, l.output_error / so.max), 12,
                                        kOutputErrorColour) +
                                       text(out_x0 + out_w + 6, y + 13, fixed(l.output_error, 4), "mono")
                                 : text(out_x0 + out_w + 6, y + 13, "-", "mono");
    }
    out += "</g>\n";
  }
  return out + "</svg>\n";
}

std::string section_histogram(const QuantizeReport& r, size_t index, bool chosen) {
  const LayerReport& l = r.layers[index];
  const ErrorHistogram& h = l.error_histogram;
  int64_t weights = 1;
  for (int64_t d : l.shape) weights *= d;
  std::string out = "<h2>Weight error histogram</h2>\n<p class=\"note\"><code>" + html_escape(l.layer) +
                    "</code> (" + html_escape(l.scheme.describe()) + ", SQNR " + fixed(l.error.sqnr_db, 2) +
                    " dB, " + std::to_string(weights) + " weights; " +
                    (chosen ? "chosen with --report-layer" : "the layer of lowest SQNR") +
                    "): the signed error w \u2212 q of every weight, in " + std::to_string(h.counts.size()) +
                    " equal bins over [\u2212max|err|, +max|err|].</p>\n";
  if (h.counts.empty()) return out + "<p>No histogram was kept for this layer.</p>\n";
  const double left = 80, right = 24, top = 12, plot_h = 220;
  const double plot_w = kWidth - left - right, bin_w = plot_w / double(h.counts.size());
  // y: log10(1 + count), so that the tails (a few clipped or outlying
  // weights) show next to a centre of millions; decades from 10^0 up to the
  // first power of ten at or above the largest count.
  const uint64_t most = *std::max_element(h.counts.begin(), h.counts.end());
  int decades = 1;
  while (std::pow(10.0, decades) < double(most)) ++decades;
  const double y_max = std::log10(1 + std::pow(10.0, decades));
  auto bar_height = [&](double count) { return plot_h * std::log10(1 + count) / y_max; };
  const double bottom = top + plot_h;
  out += "<div class=\"histogram\" data-layer=\"" + html_escape(l.layer) + "\">\n" +
         svg_open(bottom + kAxisHeight + 4, "weight error histogram of " + l.layer);
  out += line(left, bottom, left + plot_w, bottom, "axis") + text(left - 6, bottom + 3.5, "0", "tick", "end") + "\n";
  for (int k = 0; k <= decades; ++k) {
    const double y = bottom - bar_height(std::pow(10.0, k));
    out += line(left, y, left + plot_w, y, "grid") +
           text(left - 6, y + 3.5, k < 4 ? std::to_string(std::llround(std::pow(10.0, k))) : "1e" + std::to_string(k),
                "tick", "end") + "\n";
  }
  out += "<text class=\"axis-label\" text-anchor=\"middle\" transform=\"translate(14 " + num(top + plot_h / 2) +
         ") rotate(-90)\">weights per bin (log scale)</text>\n";
  for (size_t i = 0; i < h.counts.size(); ++i) {
    const double bar_h = bar_height(double(h.counts[i]));
    const double lo = h.lo + (h.hi - h.lo) * double(i) / double(h.counts.size());
    const double hi = h.lo + (h.hi - h.lo) * double(i + 1) / double(h.counts.size());
    out += "<g class=\"bin\" data-count=\"" + std::to_string(h.counts[i]) + "\"><title>[" + detail::sci(lo) +
           ", " + detail::sci(hi) + "): " + std::to_string(h.counts[i]) + " weights</title>" +
           rect(left + bin_w * double(i) + 0.5, bottom - bar_h, bin_w - 1, bar_h, kHistogramColour) + "</g>\n";
  }
  // x axis: the error at both bounds, their halves and 0 (bin edges are
  // linear in the error from lo to hi).
  for (int i = 0; i <= 4; ++i) {
    const double x = left + plot_w * i / 4, e = h.lo + (h.hi - h.lo) * i / 4;
    out += line(x, bottom, x, bottom + 4, "axis") +
           text(x, bottom + 15, i == 2 ? "0" : short_number(e), "tick", i == 0 ? "start" : i == 4 ? "end" : "middle") +
           "\n";
  }
  out += text(left + plot_w / 2, bottom + 32, "weight error w \u2212 q (in the weight's units)", "axis-label", "middle");
  return out + "</svg>\n</div>\n";
}

}  // namespace

int64_t layer_depth(std::string_view name) {
  constexpr int64_t kCap = 1000000000000000;  // 10^15: saturate rather than overflow
  const size_t start = name.find_first_of("0123456789");
  if (start == std::string_view::npos) return -1;
  int64_t v = 0;
  for (size_t i = start; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i)
    v = std::min(kCap, v * 10 + (name[i] - '0'));
  return v;
}

std::vector<size_t> layers_by_depth(const std::vector<LayerReport>& layers) {
  std::vector<size_t> order(layers.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // No number sorts after every number (int64 max > the 10^15 cap).
  auto key = [&](size_t i) {
    const int64_t d = layer_depth(layers[i].layer);
    return d < 0 ? std::numeric_limits<int64_t>::max() : d;
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int64_t da = key(a), db = key(b);
    return da != db ? da < db : layers[a].layer < layers[b].layer;
  });
  return order;
}

std::vector<size_t> layers_by_error(const std::vector<LayerReport>& layers) {
  std::vector<size_t> order = layers_by_depth(layers);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return layers[a].error.sqnr_db < layers[b].error.sqnr_db; });
  return order;
}

size_t histogram_layer_index(const QuantizeReport& report, const std::string& layer) {
  if (report.layers.empty()) fail(report.output, ": the report has no quantized layer to draw");
  if (layer.empty()) return layers_by_error(report.layers).front();
  for (size_t i = 0; i < report.layers.size(); ++i)
    if (report.layers[i].layer == layer) return i;
  fail("--report-layer ", layer, ": not a quantized layer of ", report.input, " (see --dry-run)");
}

std::string report_html(const QuantizeReport& report, const std::string& histogram_layer) {
  const size_t chosen = histogram_layer_index(report, histogram_layer);
  const Labels labels = make_labels(report.layers);
  std::ostringstream body;
  body << section_header(report) << section_bytes(report, labels)
       << section_errors(report, labels, layers_by_depth(report.layers), "Error per layer, by depth",
                         "SQNR = 10 log10(sum w\u00b2 / sum (w \u2212 q)\u00b2) of each weight; output error (when "
                         "calibrated) = ||(W \u2212 Q)X|| / ||WX|| on the calibration inputs.")
       << section_errors(report, labels, layers_by_error(report.layers), "Error per layer, worst first",
                         "The same layers by SQNR, lowest first.")
       << section_histogram(report, chosen, !histogram_layer.empty());
  return html::page("wquant report: " + report.output, body.str());
}

void write_report_html(const QuantizeReport& report, const std::string& path, const std::string& histogram_layer) {
  html::write_page(path, report_html(report, histogram_layer));
}

}  // namespace wquant
