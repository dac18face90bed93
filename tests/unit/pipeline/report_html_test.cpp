// The HTML report: escaping, depth order, the histogram layer, and the
// atomic write.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "../io/temp_dir_test.h"
#include "wquant/core/error.h"
#include "wquant/pipeline/report_html.h"

namespace wquant {
namespace {

LayerReport layer(const std::string& name, double sqnr, double output_error = -1) {
  LayerReport l;
  l.layer = name;
  l.shape = {4, 8};
  l.scheme.bits = 4;
  l.error.sqnr_db = sqnr;
  l.error.max_abs = 0.5;
  l.output_error = output_error;
  l.error_histogram.lo = -0.5;
  l.error_histogram.hi = 0.5;
  l.error_histogram.counts = {1, 2, 26, 2, 1};  // 32 = 4 x 8 weights
  l.bytes_before = 128;
  l.bytes_after = 24;
  return l;
}

QuantizeReport report(std::vector<LayerReport> layers) {
  QuantizeReport r;
  r.input = "in";
  r.output = "out";
  r.model_type = "llama";
  r.layers = std::move(layers);
  r.total_before = 1000;
  r.total_after = 250;
  return r;
}

TEST(HtmlEscape, SpecialCharacters) {
  EXPECT_EQ(html_escape("a<b>&\"c\"'d'"), "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;");
  EXPECT_EQ(html_escape("model.layers.0.mlp"), "model.layers.0.mlp");
  // Already-escaped text is escaped again: names are data, not markup.
  EXPECT_EQ(html_escape("&amp;"), "&amp;amp;");
  // Control characters become U+FFFD; tab and newline stay.
  EXPECT_EQ(html_escape(std::string("a\0b\x1b\t\n", 6)), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\t\n");
}

TEST(LayerDepth, FirstInteger) {
  EXPECT_EQ(layer_depth("model.layers.12.mlp.up_proj"), 12);
  EXPECT_EQ(layer_depth("encoder.layer.3.attention.self.query"), 3);
  EXPECT_EQ(layer_depth("h.0.attn.c_attn"), 0);
  EXPECT_EQ(layer_depth("lm_head"), -1);
  EXPECT_EQ(layer_depth(""), -1);
  EXPECT_EQ(layer_depth("x.007.y.9"), 7);
  // A name from a file with a 30-digit number saturates, no overflow.
  EXPECT_EQ(layer_depth("layers.123456789012345678901234567890.q"), 1000000000000000);
}

TEST(LayerOrder, ByDepthNumberlessLastTiesByName) {
  const std::vector<LayerReport> layers = {
      layer("lm_head", 30), layer("model.layers.10.q", 20), layer("model.layers.2.v", 25),
      layer("model.layers.2.k", 10), layer("embed", 40), layer("model.layers.1.q", 35)};
  // Depth 1, 2 (k before v by name), 10 (not 10 < 2 as strings), then the
  // numberless ones by name.
  EXPECT_EQ(layers_by_depth(layers), (std::vector<size_t>{5, 3, 2, 1, 4, 0}));
  // By SQNR, lowest first.
  EXPECT_EQ(layers_by_error(layers), (std::vector<size_t>{3, 1, 2, 0, 5, 4}));
}

TEST(LayerOrder, EqualSqnrKeepsDepthOrder) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<LayerReport> layers = {layer("l.3.a", inf), layer("l.1.a", 5), layer("l.2.a", 5)};
  EXPECT_EQ(layers_by_error(layers), (std::vector<size_t>{1, 2, 0}));
}

TEST(HistogramLayer, DefaultIsLowestSqnrElseByName) {
  const QuantizeReport r = report({layer("m.0.a", 30), layer("m.1.b", 12), layer("m.2.c", 20)});
  EXPECT_EQ(histogram_layer_index(r, ""), 1u);
  EXPECT_EQ(histogram_layer_index(r, "m.2.c"), 2u);
  try {
    histogram_layer_index(r, "m.9.z");
    FAIL() << "no error for a layer not in the report";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.9.z"), std::string::npos) << e.what();
  }
  EXPECT_THROW(histogram_layer_index(report({}), ""), Error);
}

// A layer name from a hostile file cannot open a tag, an attribute or a
// script: every <, &, quote in it arrives escaped.
TEST(ReportHtml, HostileLayerNameIsEscaped) {
  const std::string hostile = "model.layers.0.<script>alert(\"x\")</script>&'\"><img src=x onerror=y>";
  const QuantizeReport r = report({layer(hostile, 3), layer("model.layers.1.q", 20)});
  const std::string page = report_html(r);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_EQ(page.find("alert(\"x\")"), std::string::npos);
  // The escaped form is there (the histogram heading names the layer in full).
  EXPECT_NE(page.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&quot;&gt;&lt;img"),
            std::string::npos);
}

TEST(ReportHtml, EveryLayerAndTheHistogram) {
  const QuantizeReport r = report({layer("model.layers.0.q", 30), layer("model.layers.1.q", 12, 0.05)});
  const std::string page = report_html(r, "model.layers.0.q");
  EXPECT_NE(page.find("data-layer=\"model.layers.0.q\""), std::string::npos);
  EXPECT_NE(page.find("data-layer=\"model.layers.1.q\""), std::string::npos);
  EXPECT_NE(page.find("<div class=\"histogram\" data-layer=\"model.layers.0.q\">"), std::string::npos);
  EXPECT_NE(page.find("data-count=\"26\""), std::string::npos);
  EXPECT_NE(page.find("output error"), std::string::npos);  // one layer has it: its column is drawn
  EXPECT_EQ(page.find("http"), std::string::npos);           // nothing to fetch, not even an xmlns
}

TEST(ReportHtml, InfiniteSqnrAndNoHistogram) {
  LayerReport exact = layer("m.0.a", std::numeric_limits<double>::infinity());
  exact.error_histogram = {};
  const std::string page = report_html(report({exact}));
  EXPECT_NE(page.find("exact"), std::string::npos);
  EXPECT_NE(page.find("No histogram"), std::string::npos);
  EXPECT_EQ(page.find("nan"), std::string::npos);
}

using WriteReportHtml = testing::TempDirTest;

TEST_F(WriteReportHtml, WritesWholeFileAndNoTemp) {
  const QuantizeReport r = report({layer("m.0.a", 20)});
  write_report_html(r, path("r.html"));
  std::ifstream in(path("r.html"));
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), report_html(r));
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);  // no temp file left beside it
}

TEST_F(WriteReportHtml, MissingDirectoryNamesThePath) {
  const std::string p = path("missing/r.html");
  try {
    write_report_html(report({layer("m.0.a", 20)}), p);
    FAIL() << "no error for a missing directory";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(p, 0), 0u) << e.what();  // starts with the path
  }
  EXPECT_FALSE(std::filesystem::exists(p));
}

}  // namespace
}  // namespace wquant
