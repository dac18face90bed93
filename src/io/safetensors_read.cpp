// SafetensorsFile: maps a .safetensors file and validates every header field
// before any view is handed out, so a corrupt or hostile file produces an
// Error naming the file (and tensor), never an out-of-bounds read.
//
// Layout: bytes [0, 8) u64 little-endian N; [8, 8 + N) UTF-8 JSON header;
// [8 + N, size) data section; data_offsets are relative to its start.
#include "wquant/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "wquant/core/error.h"

namespace wquant {
namespace {

using nlohmann::json;

// The same limit as the reference implementation (safetensors' MAX_HEADER_SIZE):
// a larger header is a corrupt length, not a real model.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Returns the JSON type as a word for messages: "string", "array", ...
std::string type_word(const json& j) { return j.type_name(); }

// Parses the header, rejecting duplicate top-level keys (nlohmann would keep
// the last one silently, hiding a second tensor of the same name).
json parse_header(const std::string& path, const char* begin, const char* end) {
  std::set<std::string> seen;
  std::string duplicate;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(begin, end, cb);
  } catch (const json::exception& e) {
    fail(path, ": header is not valid JSON: ", e.what());
  }
  if (!header.is_object())
    fail(path, ": header is a JSON ", type_word(header), ", expected an object");
  if (!duplicate.empty()) fail(path, ": tensor ", duplicate, " appears twice in the header");
  return header;
}

// Returns `j` as a uint64, or fails naming what it is.
uint64_t as_u64(const std::string& where, const char* field, const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer()) fail(where, ": ", field, " value ", j.dump(), " is negative");
  fail(where, ": ", field, " value ", j.dump(), " is not a non-negative integer");
}

const json& field(const std::string& where, const json& entry, const char* name,
                  json::value_t type) {
  auto it = entry.find(name);
  if (it == entry.end()) fail(where, ": missing \"", name, "\"");
  if (it->type() != type) {
    fail(where, ": \"", name, "\" is a JSON ", type_word(*it), ", expected ",
         type == json::value_t::string ? "a string" : "an array");
  }
  return *it;
}

SafetensorsEntry parse_entry(const std::string& path, const std::string& name,
                             const json& j) {
  const std::string where = cat(path, ": tensor ", name);
  if (!j.is_object())
    fail(where, ": entry is a JSON ", type_word(j), ", expected an object");

  SafetensorsEntry e;
  e.name = name;
  const auto& dtype = field(where, j, "dtype", json::value_t::string);
  const auto parsed = dtype_from_name(dtype.get_ref<const std::string&>());
  if (!parsed) fail(where, ": unknown dtype \"", dtype.get_ref<const std::string&>(), "\"");
  e.dtype = *parsed;

  // numel * dtype size is checked for uint64 overflow as it is built, so huge
  // dims cannot wrap around to a small, "valid" byte count.
  uint64_t bytes = dtype_size(e.dtype);
  bool overflow = false;
  for (const auto& d : field(where, j, "shape", json::value_t::array)) {
    const uint64_t dim = as_u64(where, "shape", d);
    if (dim > uint64_t(std::numeric_limits<int64_t>::max()))
      fail(where, ": dimension ", dim, " is too large");
    e.shape.push_back(int64_t(dim));
    overflow = overflow || __builtin_mul_overflow(bytes, dim, &bytes);
  }
  // numel() itself must fit int64 too (a zero dim elsewhere does not excuse it).
  uint64_t n = 1;
  for (int64_t d : e.shape)
    overflow = overflow || __builtin_mul_overflow(n, uint64_t(d), &n) ||
               n > uint64_t(std::numeric_limits<int64_t>::max());
  if (overflow) fail(where, ": shape ", shape_str(e.shape), " overflows the element count");

  const auto& offsets = field(where, j, "data_offsets", json::value_t::array);
  if (offsets.size() != 2)
    fail(where, ": data_offsets has ", offsets.size(), " values, expected [begin, end]");
  e.begin = as_u64(where, "data_offsets", offsets[0]);
  e.end = as_u64(where, "data_offsets", offsets[1]);
  if (e.begin > e.end)
    fail(where, ": data_offsets begin ", e.begin, " > end ", e.end);
  if (e.end - e.begin != bytes)
    fail(where, ": data_offsets span ", e.end - e.begin, " bytes but ",
         dtype_name(e.dtype), " ", shape_str(e.shape), " needs ", bytes);
  return e;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& j) {
  if (!j.is_object())
    fail(path, ": __metadata__ is a JSON ", type_word(j), ", expected an object of strings");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : j.items()) {
    if (!value.is_string())
      fail(path, ": __metadata__ value for \"", key, "\" is a JSON ", type_word(value),
           ", expected a string");
    out[key] = value.get<std::string>();
  }
  return out;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(path) {
  const size_t size = file_.size();
  if (size < 8)
    fail(path, ": file is ", size, " bytes, too short for the 8-byte header length");
  const uint64_t header_len = read_u64_le(file_.data());
  if (header_len > kMaxHeaderBytes)
    fail(path, ": oversized header: length ", header_len, " exceeds the ",
         kMaxHeaderBytes, "-byte limit (corrupt or not a safetensors file)");
  if (header_len > size - 8)
    fail(path, ": header length ", header_len, " runs past the end of the file (",
         size, " bytes)");

  const char* text = reinterpret_cast<const char*>(file_.data() + 8);
  const json header = parse_header(path, text, text + header_len);
  data_ = file_.data() + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;

  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      metadata_ = parse_metadata(path, value);
      continue;
    }
    SafetensorsEntry e = parse_entry(path, name, value);
    if (e.end > data_size)
      fail(path, ": tensor ", name, ": data_offsets end ", e.end,
           " is beyond the data section (", data_size, " bytes)");
    entries_.push_back(std::move(e));
  }

  // Sorted by offset, each tensor must start at or after the previous end.
  // Zero-size tensors occupy no bytes and may share an offset with anything.
  std::stable_sort(entries_.begin(), entries_.end(),
                   [](const auto& a, const auto& b) {
                     return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
                   });
  const SafetensorsEntry* prev = nullptr;
  for (const auto& e : entries_) {
    if (e.begin == e.end) continue;
    if (prev && e.begin < prev->end)
      fail(path, ": tensors ", prev->name, " [", prev->begin, ", ", prev->end, ") and ",
           e.name, " [", e.begin, ", ", e.end, ") overlap");
    prev = &e;
  }
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

TensorView SafetensorsFile::view(const std::string& name) const {
  const SafetensorsEntry* e = find(name);
  if (!e) fail(path(), ": no tensor named ", name);
  return TensorView{e->dtype, e->shape, data_ + e->begin};
}

}  // namespace wquant

namespace wquant {

void SafetensorsFile::release(const std::string& name) const {
  if (const SafetensorsEntry* e = find(name)) file_.release(data_ + e->begin, e->end - e->begin);
}

}  // namespace wquant
