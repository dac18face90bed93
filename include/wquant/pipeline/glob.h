// Shell-style glob matching for layer selection (--exclude, --include,
// --override). '*' matches any run of characters, dots included; '?' matches
// one character; everything else matches itself.
#pragma once

#include <string_view>

namespace wquant {

// Returns true if `text` matches `pattern` as a whole.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace wquant
