// GGUF parser. Every read goes through a bounds-checked Cursor, every count is
// checked against the bytes left before anything is allocated, and every
// tensor's data range is checked against the file, so a corrupt or hostile
// file gives an Error naming the file and the problem, never a crash or a
// multi-gigabyte allocation.
#include <algorithm>
#include <cstring>
#include <limits>
#include <set>
#include <string_view>

#include "wquant/core/error.h"
#include "wquant/io/gguf.h"

namespace wquant {
namespace {

constexpr uint32_t kDefaultAlignment = 32;  // GGUF_DEFAULT_ALIGNMENT
constexpr uint32_t kMaxDims = 4;            // GGML_MAX_DIMS

// Metadata value types, numbered as in gguf.h (GGUF_TYPE_*).
enum class ValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};

// Returns the fewest bytes a value of `type` occupies (a string: its u64
// length), or 0 for ARRAY and unknown types.
size_t min_value_bytes(uint32_t type) {
  switch (ValueType(type)) {
    case ValueType::U8: case ValueType::I8: case ValueType::BOOL: return 1;
    case ValueType::U16: case ValueType::I16: return 2;
    case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
    case ValueType::U64: case ValueType::I64: case ValueType::F64: return 8;
    case ValueType::STRING: return 8;
    case ValueType::ARRAY: return 0;
  }
  return 0;
}

// A little-endian reader over [data, data + size) that fails, naming the file
// and what it was reading, instead of reading past the end.
class Cursor {
 public:
  Cursor(const std::string& path, const uint8_t* data, size_t size)
      : path_(path), data_(data), size_(size) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  template <class T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  // Reads a gguf string: u64 length, then that many bytes (no terminator).
  std::string read_string(const std::string& what) {
    const size_t start = pos_;
    const uint64_t n = read<uint64_t>(what);
    if (n > remaining()) {
      fail(path_, ": ", what, ": string length ", n, " at offset ", start,
           " runs past the end of the file (", size_, " bytes)");
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), size_t(n));
    pos_ += size_t(n);
    return s;
  }

 private:
  void need(size_t n, const std::string& what) {
    if (n > remaining()) {
      fail(path_, ": truncated: ", what, " at offset ", pos_, " needs ", n,
           " bytes but the file has ", size_);
    }
  }

  const std::string& path_;
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Returns the scalar of `type` at the cursor, widened to int64/uint64/double.
GgufValue read_scalar(Cursor& in, uint32_t type, const std::string& path,
                      const std::string& what) {
  switch (ValueType(type)) {
    case ValueType::U8: return uint64_t(in.read<uint8_t>(what));
    case ValueType::I8: return int64_t(in.read<int8_t>(what));
    case ValueType::U16: return uint64_t(in.read<uint16_t>(what));
    case ValueType::I16: return int64_t(in.read<int16_t>(what));
    case ValueType::U32: return uint64_t(in.read<uint32_t>(what));
    case ValueType::I32: return int64_t(in.read<int32_t>(what));
    case ValueType::U64: return in.read<uint64_t>(what);
    case ValueType::I64: return in.read<int64_t>(what);
    case ValueType::F32: return double(in.read<float>(what));
    case ValueType::F64: return in.read<double>(what);
    case ValueType::BOOL: {
      const uint8_t b = in.read<uint8_t>(what);
      if (b > 1) fail(path, ": ", what, ": bool value ", int(b), " is neither 0 nor 1");
      return b == 1;
    }
    case ValueType::STRING: return in.read_string(what);
    case ValueType::ARRAY: break;
  }
  fail(path, ": ", what, ": unknown value type ", type);
}

// Reads an array (element type, u64 count, elements) into the vector
// alternative that fits: integers and bools -> int64, floats -> double.
GgufValue read_array(Cursor& in, const std::string& path, const std::string& what) {
  const uint32_t elem = in.read<uint32_t>(what + " array element type");
  const uint64_t count = in.read<uint64_t>(what + " array length");
  if (ValueType(elem) == ValueType::ARRAY) {
    fail(path, ": ", what, ": arrays of arrays are not supported");
  }
  const size_t min_bytes = min_value_bytes(elem);
  if (min_bytes == 0) fail(path, ": ", what, ": unknown array element type ", elem);
  if (count > in.remaining() / min_bytes) {
    fail(path, ": ", what, ": array of ", count, " elements cannot fit in the ",
         in.remaining(), " bytes left in the file");
  }
  if (ValueType(elem) == ValueType::STRING) {
    std::vector<std::string> out;
    out.reserve(size_t(count));
    for (uint64_t i = 0; i < count; ++i) out.push_back(in.read_string(what));
    return out;
  }
  if (ValueType(elem) == ValueType::F32 || ValueType(elem) == ValueType::F64) {
    std::vector<double> out;
    out.reserve(size_t(count));
    for (uint64_t i = 0; i < count; ++i) {
      out.push_back(std::get<double>(read_scalar(in, elem, path, what)));
    }
    return out;
  }
  std::vector<int64_t> out;
  out.reserve(size_t(count));
  for (uint64_t i = 0; i < count; ++i) {
    const GgufValue v = read_scalar(in, elem, path, what);
    if (const auto* u = std::get_if<uint64_t>(&v)) {
      if (*u > uint64_t(std::numeric_limits<int64_t>::max())) {
        fail(path, ": ", what, ": array element ", *u, " does not fit in int64");
      }
      out.push_back(int64_t(*u));
    } else if (const auto* s = std::get_if<int64_t>(&v)) {
      out.push_back(*s);
    } else {
      out.push_back(std::get<bool>(v) ? 1 : 0);
    }
  }
  return out;
}

// Returns the data-section alignment from general.alignment (default 32).
uint64_t alignment_of(const std::map<std::string, GgufValue>& metadata,
                      const std::string& path) {
  const auto it = metadata.find("general.alignment");
  if (it == metadata.end()) return kDefaultAlignment;
  int64_t a = -1;
  if (const auto* u = std::get_if<uint64_t>(&it->second)) {
    a = *u > uint64_t(std::numeric_limits<uint32_t>::max()) ? -1 : int64_t(*u);
  } else if (const auto* s = std::get_if<int64_t>(&it->second)) {
    a = *s;
  } else {
    fail(path, ": general.alignment is not an integer");
  }
  if (a <= 0 || a > int64_t(std::numeric_limits<uint32_t>::max()) || (a & (a - 1)) != 0) {
    fail(path, ": general.alignment ", a, " is not a power of two");
  }
  return uint64_t(a);
}

}  // namespace

Shape GgufTensorInfo::shape() const {
  return Shape(dims.rbegin(), dims.rend());
}

GgufFile::GgufFile(const std::string& path) : file_(path) {
  Cursor in(path, file_.data(), file_.size());
  if (file_.size() < 4) fail(path, ": not a GGUF file: only ", file_.size(), " bytes");
  if (std::memcmp(file_.data(), "GGUF", 4) != 0) {
    fail(path, ": not a GGUF file: magic is '",
         printable(std::string_view(reinterpret_cast<const char*>(file_.data()), 4)),
         "', expected 'GGUF'");
  }
  in.read<uint32_t>("magic");
  version_ = in.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3) {
    if (version_ == 0x02000000u || version_ == 0x03000000u) {
      fail(path, ": big-endian GGUF files are not supported");
    }
    fail(path, ": unsupported GGUF version ", version_, " (wquant reads versions 2 and 3)");
  }
  const uint64_t tensor_count = in.read<uint64_t>("tensor count");
  const uint64_t kv_count = in.read<uint64_t>("metadata count");
  // Each kv pair takes at least 13 bytes (u64 key length, u32 type, 1-byte
  // value) and each tensor info at least 24 (u64 name length, u32 n_dims,
  // u32 type, u64 offset): reject counts the file cannot hold before reserving.
  if (kv_count > in.remaining() / 13) {
    fail(path, ": metadata count ", kv_count, " is impossible for a file of ",
         file_.size(), " bytes");
  }
  if (tensor_count > (in.remaining() - kv_count * 13) / 24) {
    fail(path, ": tensor count ", tensor_count, " is impossible for a file of ",
         file_.size(), " bytes");
  }

  for (uint64_t i = 0; i < kv_count; ++i) {
    const std::string key = in.read_string(cat("metadata key ", i));
    const std::string what = cat("metadata '", printable(key), "'");
    const uint32_t type = in.read<uint32_t>(what + " type");
    GgufValue value = ValueType(type) == ValueType::ARRAY
                          ? read_array(in, path, what)
                          : read_scalar(in, type, path, what);
    if (!metadata_.emplace(key, std::move(value)).second) {
      fail(path, ": metadata key '", printable(key), "' appears twice");
    }
  }
  const uint64_t alignment = alignment_of(metadata_, path);

  std::set<std::string> names;
  tensors_.reserve(size_t(tensor_count));
  for (uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensorInfo t;
    t.name = in.read_string(cat("tensor info ", i, " name"));
    const std::string what = cat("tensor '", printable(t.name), "'");
    if (!names.insert(t.name).second) fail(path, ": ", what, " appears twice");
    const uint32_t n_dims = in.read<uint32_t>(what + " n_dims");
    if (n_dims > kMaxDims) {
      fail(path, ": ", what, ": ", n_dims, " dimensions (ggml allows at most ", kMaxDims, ")");
    }
    int64_t count = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = in.read<uint64_t>(what + " dims");
      if (dim > uint64_t(std::numeric_limits<int64_t>::max()) ||
          __builtin_mul_overflow(count, int64_t(dim), &count)) {
        fail(path, ": ", what, ": element count overflows (dimension ", d, " is ", dim, ")");
      }
      t.dims.push_back(dim);
    }
    t.type = in.read<uint32_t>(what + " type");
    const auto layout = ggml_block_layout(t.type);
    if (!layout) fail(path, ": ", what, ": unknown ggml type ", t.type);
    const uint64_t row = t.dims.empty() ? 1 : t.dims[0];
    if (row % layout->values != 0) {
      fail(path, ": ", what, ": row length ", row, " is not a multiple of the ",
           ggml_type_name(t.type), " block of ", layout->values, " values");
    }
    if (__builtin_mul_overflow(uint64_t(count) / layout->values, uint64_t(layout->bytes),
                               &t.nbytes)) {
      fail(path, ": ", what, ": byte size overflows");
    }
    t.offset = in.read<uint64_t>(what + " offset");
    if (t.offset % alignment != 0) {
      fail(path, ": ", what, ": data offset ", t.offset, " is not a multiple of the alignment ",
           alignment);
    }
    tensors_.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment.
  const uint64_t data_start = (uint64_t(in.pos()) + alignment - 1) / alignment * alignment;
  const uint64_t data_size = data_start <= file_.size() ? file_.size() - data_start : 0;
  data_ = data_start <= file_.size() ? file_.data() + data_start : nullptr;
  for (const GgufTensorInfo& t : tensors_) {
    if (t.offset > data_size || t.nbytes > data_size - t.offset) {
      fail(path, ": tensor '", printable(t.name), "': data [", t.offset, ", ",
           t.offset + t.nbytes, ") runs past the end of the file (data section is ", data_size,
           " bytes from offset ", data_start, ")");
    }
  }
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& t : tensors_) {
    if (t.nbytes > 0) by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo& prev = *by_offset[i - 1];
    const GgufTensorInfo& cur = *by_offset[i];
    if (cur.offset < prev.offset + prev.nbytes) {
      fail(path, ": tensors '", printable(prev.name), "' [", prev.offset, ", ",
           prev.offset + prev.nbytes, ") and '", printable(cur.name), "' [", cur.offset, ", ",
           cur.offset + cur.nbytes, ") overlap");
    }
  }
}

const GgufTensorInfo* GgufFile::find(const std::string& name) const {
  for (const GgufTensorInfo& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const uint8_t* GgufFile::raw(const GgufTensorInfo& t) const {
  return data_ ? data_ + t.offset : nullptr;  // nullptr only when there is no data section
}

void GgufFile::release(const GgufTensorInfo& t) const {
  if (data_) file_.release(data_ + t.offset, size_t(t.nbytes));
}

std::vector<float> GgufFile::dequantize(const GgufTensorInfo& t) const {
  if (!ggml_can_dequantize(t.type)) {
    fail(path(), ": tensor '", t.name, "': ggml type ", ggml_type_name(t.type),
         " cannot be dequantized (supported: ", ggml_dequantizable_names(), ")");
  }
  std::vector<float> out(size_t(numel(t.shape())));
  dequantize_ggml(t.type, raw(t), out.size(), out.data());
  return out;
}

}  // namespace wquant
