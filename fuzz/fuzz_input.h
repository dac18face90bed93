// Shared by the libFuzzer targets (fuzz/*.cpp): the readers under test take
// paths (they map files), so each input is written to a file in /dev/shm
// (memory, not disk) in a directory per process, under the name the reader
// expects. Error is the expected outcome of a bad input; anything else (a
// crash, a sanitizer report, another exception escaping) is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace wquant::fuzz {

// Returns this process's input directory, created on first use.
inline const std::string& input_dir() {
  static const std::string dir = [] {
    const std::string d = "/dev/shm/wquant-fuzz-" + std::to_string(getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

// Writes data to input_dir()/name and returns the path.
inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = input_dir() + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
  return path;
}

}  // namespace wquant::fuzz
