// Pieces of the self-contained HTML reports (quantize --report, eval
// --report): escaping, inline SVG shapes and axes, the page frame with its
// CSS, and writing the page atomically. No script, nothing fetched.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wquant {

// Returns s with & < > " ' written as character references, so it is text
// in HTML content and in quoted attribute values; control characters other
// than tab and newline become U+FFFD.
std::string html_escape(std::string_view s);

namespace html {

// Chart width in SVG user units (CSS px when the page is 960 px wide or more).
constexpr double kWidth = 960;

// Returns v with one decimal (SVG coordinates).
std::string num(double v);
// Returns v with 3 significant digits, e.g. "-0.102", "5.1e-05".
std::string short_number(double v);

// Returns the opening <svg> tag of a kWidth x height chart labelled `label`.
std::string svg_open(double height, const std::string& label);
// SVG text at (x, y) with a CSS class and text-anchor (start, middle, end).
std::string text(double x, double y, std::string_view s, const char* cls = "", const char* anchor = "start");
std::string rect(double x, double y, double w, double h, const char* fill);
std::string line(double x1, double y1, double x2, double y2, const char* cls);

// A linear scale from 0 to `max` in ticks of `step` (1, 2 or 5 x 10^k).
struct Scale {
  double max = 1, step = 0.2;
};
// Returns the scale of about 5 ticks covering [0, value].
Scale nice_scale(double value);

// Returns a horizontal axis under a chart: grid lines from y_top, ticks
// labelled by fmt, and the title (with units) under them.
std::string x_axis(double x0, double width, double y_top, double y, const Scale& s,
                   const std::function<std::string(double)>& fmt, const std::string& title);
// Returns a vertical axis left of a chart from y_bottom up to y_top at x0:
// grid lines across `width`, ticks labelled by fmt, the title above it.
std::string y_axis(double x0, double width, double y_top, double y_bottom, const Scale& s,
                   const std::function<std::string(double)>& fmt, const std::string& title);
// Returns a row of legend swatches at y: (colour, what it means).
std::string legend(double x, double y, const std::vector<std::pair<std::string, std::string>>& items);

// Returns the whole page: doctype, <head> with `title` and the reports' CSS, `body`.
std::string page(const std::string& title, const std::string& body);

// Throws Error naming `path` if a page could not be written there: its
// directory does not exist, or `path` is a directory. For checking before
// a long run whose end writes the page.
void check_page_path(const std::string& path);

// Writes `page` to `path` atomically (a temp file beside it, fsynced, then
// renamed over it): `path` is either the whole page or untouched. Throws
// Error naming `path` ("cannot write the HTML report") on failure.
void write_page(const std::string& path, const std::string& page);

}  // namespace html
}  // namespace wquant
