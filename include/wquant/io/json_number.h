// Numbers read from JSON files (config.json, tokenizer.json, quantization
// configs), range-checked before any narrowing: nlohmann's get<int32_t>() of
// 3.3e125 is undefined behaviour and of 4294967333 silently 37. Each throws
// Error "WHAT is VALUE, expected ..." where WHAT names file and field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace wquant {

// Returns j as an integer in [lo, hi], or nullopt. A float with an integral
// value in range is accepted (some writers emit 2048.0).
std::optional<int64_t> json_int_in(const nlohmann::json& j, int64_t lo, int64_t hi);
// Returns json_int_in(j, lo, hi) or throws the Error naming `what`.
int64_t json_int(const nlohmann::json& j, int64_t lo, int64_t hi, const std::string& what);
// Returns object j's `key` as json_int, or `fallback` when absent or null.
// Errors read "WHERE 'KEY' is ...", e.g. where = "DIR: config key".
int64_t json_int_or(const nlohmann::json& j, const char* key, int64_t fallback, int64_t lo, int64_t hi,
                    const std::string& where);
// Returns object j's `key` as a finite float (a double beyond float's range
// is refused, not turned into infinity), or `fallback` when absent or null.
float json_float_or(const nlohmann::json& j, const char* key, float fallback, const std::string& where);

}  // namespace wquant
