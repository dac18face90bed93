#include "wquant/io/html_chart.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "wquant/core/error.h"
#include "wquant/io/output_dir.h"

namespace wquant {

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\t': case '\n': out += c; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
          out += "\uFFFD";  // a control character is no text (NUL is an HTML parse error)
        else
          out += c;
    }
  }
  return out;
}

namespace html {
namespace {

constexpr const char* kCss = R"(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1f2328;
       background: #fff; max-width: 1000px; margin: 24px auto; padding: 0 16px;
       -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { font-size: 22px; margin: 0 0 10px; }
h2 { font-size: 17px; margin: 30px 0 4px; padding-bottom: 3px; border-bottom: 1px solid #d0d7de; }
table.facts { border-collapse: collapse; font-size: 13px; }
table.facts th { text-align: left; font-weight: 600; color: #57606a; padding: 1px 18px 1px 0; vertical-align: top; }
table.facts td { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; word-break: break-all; }
p.note { color: #57606a; font-size: 12.5px; margin: 2px 0 8px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
ul.warnings { color: #9a3412; }
svg { display: block; width: 100%; max-width: 960px; height: auto; }
svg text { font-family: system-ui, "DejaVu Sans", sans-serif; font-size: 11px; fill: #1f2328; }
svg text.mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
svg text.tick { font-size: 10px; fill: #57606a; }
svg text.axis-label { fill: #57606a; }
svg line.axis { stroke: #8c959f; stroke-width: 1; }
svg line.grid { stroke: #eaeef2; stroke-width: 1; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } }
)";

}  // namespace

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// Returns v with 3 significant digits, e.g. "-0.102", "5.1e-05".
std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::string svg_open(double height, const std::string& label) {
  return "<svg viewBox=\"0 0 " + num(kWidth) + " " + num(height) + "\" width=\"" + num(kWidth) +
         "\" height=\"" + num(height) + "\" role=\"img\" aria-label=\"" + html_escape(label) + "\">\n";
}

std::string text(double x, double y, std::string_view s, const char* cls, const char* anchor) {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\"" + (*cls ? std::string(" class=\"") + cls + "\"" : "") +
         (std::strcmp(anchor, "start") ? std::string(" text-anchor=\"") + anchor + "\"" : "") + ">" +
         html_escape(s) + "</text>";
}

std::string rect(double x, double y, double w, double h, const char* fill) {
  return "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(std::max(0.0, w)) +
         "\" height=\"" + num(h) + "\" fill=\"" + fill + "\"/>";
}

std::string line(double x1, double y1, double x2, double y2, const char* cls) {
  return "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" +
         num(y2) + "\" class=\"" + cls + "\"/>";
}

// Returns the scale of about 5 ticks covering [0, value].
Scale nice_scale(double value) {
  if (!(value > 0) || !std::isfinite(value)) return {};
  const double raw = value / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  return {std::ceil(value / step - 1e-9) * step, step};
}

// Returns a horizontal axis under a chart: grid lines from y_top, ticks
// labelled by fmt, and the title (with units) under them.
std::string x_axis(double x0, double width, double y_top, double y, const Scale& s,
                   const std::function<std::string(double)>& fmt, const std::string& title) {
  std::string out = line(x0, y, x0 + width, y, "axis") + "\n";
  const int ticks = static_cast<int>(std::lround(s.max / s.step));
  for (int i = 0; i <= ticks; ++i) {
    const double x = x0 + width * i / ticks;
    if (i > 0) out += line(x, y_top, x, y, "grid");
    out += line(x, y, x, y + 4, "axis") + text(x, y + 15, fmt(i * s.step), "tick", "middle") + "\n";
  }
  return out + text(x0 + width / 2, y + 32, title, "axis-label", "middle") + "\n";
}

// Returns a row of legend swatches at y: (colour, what it means).
std::string legend(double x, double y, const std::vector<std::pair<std::string, std::string>>& items) {
  std::string out;
  for (const auto& item : items) {
    out += rect(x, y - 9, 12, 10, item.first.c_str()) + text(x + 16, y, item.second) + "\n";
    x += 16 + 7.0 * double(item.second.size()) + 22;  // sans-serif 11 px: about 6.5 px a character
  }
  return out;
}

std::string y_axis(double x0, double width, double y_top, double y_bottom, const Scale& s,
                   const std::function<std::string(double)>& fmt, const std::string& title) {
  std::string out = line(x0, y_top, x0, y_bottom, "axis") + "\n";
  const int ticks = static_cast<int>(std::lround(s.max / s.step));
  for (int i = 0; i <= ticks; ++i) {
    const double y = y_bottom - (y_bottom - y_top) * i / ticks;
    if (i > 0) out += line(x0, y, x0 + width, y, "grid");
    out += line(x0 - 4, y, x0, y, "axis") + text(x0 - 6, y + 3.5, fmt(i * s.step), "tick", "end") + "\n";
  }
  return out + text(x0, y_top - 10, title, "axis-label", "start") + "\n";
}

std::string page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
         html_escape(title) + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n" + body +
         "</body>\n</html>\n";
}

void check_page_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec))
    fail(path, ": cannot write the HTML report: directory ", parent.string(), " does not exist");
  if (fs::is_directory(p, ec)) fail(path, ": cannot write the HTML report: it is a directory");
}

void write_page(const std::string& path, const std::string& page) {
  // The temp file is beside `path` so that the rename stays on one file system.
  const std::string temp = path + ".wquant-tmp-" + std::to_string(::getpid());
  try {
    write_text_file(temp, page);
  } catch (const Error& e) {
    std::error_code ec;
    std::filesystem::remove(temp, ec);
    fail(path, ": cannot write the HTML report (", e.what(), ")");
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::error_code ec;
    std::filesystem::remove(temp, ec);
    fail(path, ": cannot write the HTML report: ", std::strerror(err));
  }
}

}  // namespace html
}  // namespace wquant
