// Human-readable and JSON renderings of plans and quantization reports.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "wquant/pipeline/plan.h"
#include "wquant/pipeline/quantize_model.h"

namespace wquant {

// Returns "1.23 MB" style sizes (decimal units, as file managers show).
std::string human_bytes(uint64_t bytes);

// Returns the per-layer table and the footprint summary.
std::string format_report(const QuantizeReport& report);
nlohmann::json report_json(const QuantizeReport& report);

// Returns the plan as a table: tensor, shape, action, scheme, reason.
std::string format_plan(const Plan& plan);
nlohmann::json plan_json(const Plan& plan);

}  // namespace wquant
