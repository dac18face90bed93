// wquant::Error: the one exception type for user-facing failures (bad file,
// unknown architecture, shape mismatch). Its message names what and where;
// the CLI prints it as one line and exits non-zero. Invariants use assert.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace wquant {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Returns the arguments streamed into one string: cat("tensor ", name, ": ", n).
template <class... Args>
std::string cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

// Throws Error(cat(args...)).
template <class... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(cat(std::forward<Args>(args)...));
}

// Returns s with control bytes written as \xNN, so a corrupt key, tensor
// name or token from a file cannot break an error message's single line.
std::string printable(std::string_view s);

}  // namespace wquant
