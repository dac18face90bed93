#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "temp_dir_test.h"
#include "wquant/core/error.h"
#include "wquant/io/html_chart.h"

namespace wquant {
namespace {

using HtmlPage = testing::TempDirTest;

TEST(HtmlChart, NiceScalesCoverTheValueInAboutFiveTicks) {
  const html::Scale a = html::nice_scale(0.93);  // raw step 0.186 -> 0.2
  EXPECT_DOUBLE_EQ(a.step, 0.2);
  EXPECT_DOUBLE_EQ(a.max, 1.0);
  const html::Scale b = html::nice_scale(9.845);  // raw step 1.97 -> 2
  EXPECT_DOUBLE_EQ(b.step, 2);
  EXPECT_DOUBLE_EQ(b.max, 10);
  const html::Scale c = html::nice_scale(0.0);  // nothing to draw: the default [0, 1]
  EXPECT_DOUBLE_EQ(c.max, 1);
}

TEST(HtmlChart, AxesLabelEveryTick) {
  const std::string y = html::y_axis(70, 800, 40, 240, html::nice_scale(100), [](double v) {
    return std::to_string(int(v));
  }, "top-1 (%)");
  for (const char* tick : {">0<", ">20<", ">40<", ">60<", ">80<", ">100<"})
    EXPECT_NE(y.find(tick), std::string::npos) << tick;
  EXPECT_NE(y.find("top-1 (%)"), std::string::npos);
}

TEST_F(HtmlPage, WrittenWholeOrRefusedNamingThePath) {
  const std::string ok = path("r.html");
  html::check_page_path(ok);
  html::write_page(ok, html::page("t <1>", "<p>x</p>\n"));
  std::stringstream s;
  s << std::ifstream(ok).rdbuf();
  EXPECT_EQ(s.str().rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(s.str().find("<title>t &lt;1&gt;</title>"), std::string::npos);
  try {
    html::check_page_path(path("missing/r.html"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing/r.html: cannot write the HTML report: directory"),
              std::string::npos);
  }
  EXPECT_THROW(html::check_page_path(dir_.string()), Error);  // a directory
  EXPECT_THROW(html::write_page(path("missing/r.html"), "x"), Error);
  for (const auto& e : std::filesystem::directory_iterator(dir_))  // no temp file left behind
    EXPECT_EQ(e.path().filename(), "r.html");
}

}  // namespace
}  // namespace wquant
