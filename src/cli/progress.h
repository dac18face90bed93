// A one-line progress bar on stderr, drawn only when stderr is a terminal.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace wquant::cli {

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {}
  ~ProgressBar() { finish(); }

  // Redraws the bar: [#####.....]  12/84  name  (at most ~10 redraws/s).
  void update(size_t done, size_t total, const std::string& what) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    constexpr int kWidth = 30;
    const int filled = total ? int(double(done) / double(total) * kWidth) : kWidth;
    std::string bar(size_t(filled), '#');
    bar.append(size_t(kWidth - filled), '.');
    std::string name = what.size() > 48 ? "..." + what.substr(what.size() - 45) : what;
    std::fprintf(stderr, "\r\033[K[%s] %zu/%zu  %s", bar.c_str(), done, total, name.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }

  // Clears the bar's line.
  void finish() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace wquant::cli
