// SHA-256 (FIPS 180-4), for recording which file a result was computed from.
#pragma once

#include <string>
#include <string_view>

namespace wquant {

// Returns the SHA-256 digest of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace wquant
