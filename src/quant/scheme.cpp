#include "wquant/quant/scheme.h"

#include "wquant/core/error.h"

namespace wquant {

std::string QuantScheme::describe() const {
  std::string s = "w" + std::to_string(bits) + " ";
  switch (granularity) {
    case Granularity::PerTensor: s += "per-tensor"; break;
    case Granularity::PerChannel:
      s += channel_axis == 0 ? "per-channel" : "per-channel(axis=1)";
      break;
    case Granularity::PerGroup: s += "g" + std::to_string(group_size); break;
  }
  return s + (symmetric ? " sym" : " asym");
}

void QuantScheme::validate() const {
  if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
    fail("quant scheme: bits = ", bits, ", expected 2, 3, 4 or 8");
  }
  switch (granularity) {
    case Granularity::PerTensor:
      break;
    case Granularity::PerChannel:
      if (channel_axis != 0 && channel_axis != 1) {
        fail("quant scheme ", describe(), ": channel_axis = ", channel_axis,
             ", expected 0 (rows) or 1 (columns)");
      }
      break;
    case Granularity::PerGroup:
      if (group_size <= 0) {
        fail("quant scheme w", bits, ": per-group needs group_size > 0, got ", group_size);
      }
      return;
    default:
      fail("quant scheme w", bits, ": unknown granularity ", int(granularity));
  }
  // A group size on a non-group scheme is almost always a mistake in the
  // caller's option handling; silently ignoring it would hide that.
  if (group_size != 0) {
    fail("quant scheme ", describe(), ": group_size = ", group_size,
         " is only valid with per-group granularity");
  }
}

}  // namespace wquant
