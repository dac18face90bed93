// json_int / json_int_or / json_float_or: range checks before narrowing.
#include <gtest/gtest.h>

#include <limits>

#include "wquant/core/error.h"
#include "wquant/io/json_number.h"

namespace wquant {
namespace {

using nlohmann::json;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(JsonInt, AcceptsIntegersInRange) {
  EXPECT_EQ(json_int(json(5), 0, 10, "x"), 5);
  EXPECT_EQ(json_int(json(-1), -1, 10, "x"), -1);
  EXPECT_EQ(json_int(json(uint64_t(10)), 0, 10, "x"), 10);
  EXPECT_EQ(json_int(json(2048.0), 1, INT32_MAX, "x"), 2048);  // integral float
  const int64_t big = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(json_int(json(big), 0, big, "x"), big);
}

TEST(JsonInt, RefusesWhatWouldNarrowOrConvertBadly) {
  EXPECT_EQ(error_of([] { json_int(json(11), 0, 10, "f: k"); }), "f: k is 11, expected an integer in [0, 10]");
  EXPECT_EQ(error_of([] { json_int(json::parse("4294967333"), 0, INT32_MAX, "f: id"); }),
            "f: id is 4294967333, expected an integer in [0, 2147483647]");
  EXPECT_EQ(error_of([] { json_int(json::parse("18446744073709551615"), 0, INT64_MAX, "x"); }),
            "x is 18446744073709551615, expected an integer in [0, 9223372036854775807]");
  EXPECT_EQ(error_of([] { json_int(json(3.3e125), 0, INT32_MAX, "x"); }),
            "x is 3.3e+125, expected an integer in [0, 2147483647]");
  // 2^63 as a double: above every int64, though double(INT64_MAX) rounds to it.
  EXPECT_NE(error_of([] { json_int(json(9223372036854775808.0), 0, INT64_MAX, "x"); }), "(no error)");
  EXPECT_NE(error_of([] { json_int(json(std::nan("")), 0, 10, "x"); }), "(no error)");
  EXPECT_NE(error_of([] { json_int(json(1.5), 0, 10, "x"); }), "(no error)");
  EXPECT_NE(error_of([] { json_int(json(-3), 0, 10, "x"); }), "(no error)");
  EXPECT_NE(error_of([] { json_int(json("7"), 0, 10, "x"); }), "(no error)");
  EXPECT_NE(error_of([] { json_int(json(true), 0, 10, "x"); }), "(no error)");
}

TEST(JsonIntOr, FallbackWhenAbsentOrNull) {
  const json j = json::parse(R"({"a": 3, "n": null, "big": 1e300, "eps": 1e-300})");
  EXPECT_EQ(json_int_or(j, "a", 9, 0, 10, "f"), 3);
  EXPECT_EQ(json_int_or(j, "n", 9, 0, 10, "f"), 9);
  EXPECT_EQ(json_int_or(j, "missing", 9, 0, 10, "f"), 9);
  EXPECT_EQ(error_of([&] { json_int_or(j, "big", 9, 0, 10, "f: config key"); }),
            "f: config key 'big' is 1e+300, expected an integer in [0, 10]");
  EXPECT_EQ(json_float_or(j, "n", 0.5f, "f"), 0.5f);
  EXPECT_EQ(json_float_or(j, "a", 0.5f, "f"), 3.0f);
  EXPECT_EQ(json_float_or(j, "eps", 0.5f, "f"), 0.0f);  // underflows to 0: no UB
  EXPECT_EQ(error_of([&] { json_float_or(j, "big", 0.5f, "f: config key"); }),
            "f: config key 'big' is 1e+300, expected a finite number");
}

}  // namespace
}  // namespace wquant
