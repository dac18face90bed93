#include <gtest/gtest.h>

#include "wquant/core/error.h"
#include "wquant/runtime/eval_report.h"

namespace wquant {
namespace {

EvalResult two_windows(bool reference) {
  EvalResult r;
  r.chunks = 2;
  r.scored_tokens = 6;
  r.has_reference = reference;
  r.per_chunk = {{1.0, 0.9, 0.05, 0.5, 0.5}, {2.0, 1.8, 0.25, 1.5, 1.0}};
  return r;
}

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(EvalReport, OneBarPerWindowAndSeries) {
  const std::string page = eval_report_html(two_windows(true), {"q", "f", "t.txt", 100, 4});
  EXPECT_EQ(count(page, "data-chart=\"KL divergence per window\""), 2);
  EXPECT_EQ(count(page, "data-chart=\"Top-1 agreement per window\""), 2);
  EXPECT_EQ(count(page, "data-chart=\"Perplexity per window\""), 4);  // model and reference
  EXPECT_NE(page.find("data-window=\"2\" data-value=\"0.25\""), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
}

TEST(EvalReport, WithoutReferenceOnlyPerplexity) {
  const std::string page = eval_report_html(two_windows(false), {"q", "", "t.txt", 100, 4});
  EXPECT_EQ(count(page, "data-chart=\"KL divergence per window\""), 0);
  EXPECT_EQ(count(page, "data-chart=\"Perplexity per window\""), 2);
}

TEST(EvalReport, NamesAreEscapedAndAnEmptyResultRefused) {
  const std::string page = eval_report_html(two_windows(true), {"<m>", "f", "t&.txt", 100, 4});
  EXPECT_NE(page.find("&lt;m&gt;"), std::string::npos);
  EXPECT_NE(page.find("t&amp;.txt"), std::string::npos);
  EXPECT_THROW(eval_report_html(EvalResult{}, {}), Error);
}

}  // namespace
}  // namespace wquant
