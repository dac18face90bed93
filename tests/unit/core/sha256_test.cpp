// SHA-256 against the FIPS 180-4 example vectors and one computed by
// Python's hashlib (a 1000-byte input: several blocks and a padding block).
#include <gtest/gtest.h>

#include <string>

#include "wquant/core/sha256.h"

namespace wquant {
namespace {

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // hashlib.sha256(bytes(i % 251 for i in range(1000))).hexdigest()
  std::string s;
  for (int i = 0; i < 1000; ++i) s.push_back(char(i % 251));
  EXPECT_EQ(sha256_hex(s), "4e4c294b331f7a2099a379bec34b9f9fc03dc46ab465d998f4d683da53487e6d");
}

}  // namespace
}  // namespace wquant
