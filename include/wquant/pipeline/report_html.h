// The quantization report as one self-contained HTML page (`wquant quantize
// --report FILE.html`): inline SVG and CSS, no script, nothing fetched.
// It shows the footprint before -> after, bytes and error (SQNR, calibration
// output error) per layer, and the weight-error histogram of one layer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "wquant/io/html_chart.h"  // html_escape
#include "wquant/pipeline/quantize_model.h"

namespace wquant {


// Returns the first integer in a layer name (model.layers.12.mlp.up_proj ->
// 12), or -1 if it has no digit. Saturates at 10^15 (names come from files).
int64_t layer_depth(std::string_view name);

// Returns the indices of `layers` by depth (layer_depth), layers without a
// number last (lm_head after the blocks), ties by name.
std::vector<size_t> layers_by_depth(const std::vector<LayerReport>& layers);

// Returns the indices of `layers` by SQNR, lowest (worst) first, ties in
// depth order.
std::vector<size_t> layers_by_error(const std::vector<LayerReport>& layers);

// Returns the index of the layer whose error histogram the page shows: the
// one named `layer`, or with `layer` empty the lowest SQNR (the first by
// layers_by_error). Throws Error if `layer` is not a quantized layer or the
// report has no layer.
size_t histogram_layer_index(const QuantizeReport& report, const std::string& layer);

// Returns the page. `histogram_layer` as for histogram_layer_index.
std::string report_html(const QuantizeReport& report, const std::string& histogram_layer = "");

// Writes report_html(report, histogram_layer) to `path` atomically: a temp
// file beside it, fsynced, then renamed over `path`, so `path` is either
// the whole page or untouched. Throws Error naming `path` on failure.
void write_report_html(const QuantizeReport& report, const std::string& path,
                       const std::string& histogram_layer = "");

}  // namespace wquant
