#include "wquant/io/output_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "wquant/core/error.h"

namespace wquant {
namespace fs = std::filesystem;

namespace {

// Writes all n bytes, retrying short writes and EINTR. Throws Error naming
// the file on failure.
void write_all(int fd, const std::string& path, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, std::min<size_t>(n, size_t(1) << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(path, ": write failed: ", std::strerror(errno));
    }
    if (w == 0) fail(path, ": write failed: write returned 0");
    p += w;
    n -= size_t(w);
  }
}

int create_for_write(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, ": cannot create: ", std::strerror(errno));
  return fd;
}

// fsyncs and closes fd; throws Error naming the file on failure. Closes fd
// in every case.
void sync_and_close(int fd, const std::string& path) {
  if (::fsync(fd) != 0 && errno != EINVAL) {  // EINVAL: not syncable (a device)
    const int e = errno;
    ::close(fd);
    fail(path, ": fsync failed: ", std::strerror(e));
  }
  if (::close(fd) != 0) fail(path, ": close failed: ", std::strerror(errno));
}

// fsyncs a directory so renames and new entries in it are durable.
void sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(dir, ": cannot open directory to sync: ", std::strerror(errno));
  sync_and_close(fd, dir);
}

// Returns `path` without trailing slashes ("out/" -> "out"), so that the
// sibling temp name is "out.wquant-tmp-N" and not "out/.wquant-tmp-N".
std::string strip_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string parent_of(const std::string& path) {
  const std::string parent = fs::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

}  // namespace

OutputDir::OutputDir(const std::string& final_path, bool overwrite)
    : final_(strip_trailing_slashes(final_path)), overwrite_(overwrite) {
  if (final_.empty()) fail("output path is empty");
  std::error_code ec;
  const auto final_status = fs::symlink_status(final_, ec);
  if (fs::exists(final_status) && !overwrite)
    fail(final_, ": already exists (choose another output path or allow overwriting)");
  // Overwriting replaces an old output directory. A file or symlink there is
  // not one (`-o model/model.safetensors` would delete the input weights), so
  // it is never replaced.
  if (fs::exists(final_status) && !fs::is_directory(final_status))
    fail(final_, ": exists and is not a directory; not replacing it with the output directory");
  const std::string parent = parent_of(final_);
  const auto parent_status = fs::status(parent, ec);
  if (!fs::exists(parent_status))
    fail(final_, ": parent directory ", parent, " does not exist");
  if (!fs::is_directory(parent_status))
    fail(final_, ": parent ", parent, " is not a directory");
  if (::access(parent.c_str(), W_OK | X_OK) != 0)
    fail(final_, ": parent directory ", parent, " is not writable: ", std::strerror(errno));

  temp_ = cat(final_, ".wquant-tmp-", ::getpid());
  // A leftover from a crashed run that had the same pid: ours to clear.
  fs::remove_all(temp_, ec);
  if (::mkdir(temp_.c_str(), 0755) != 0)
    fail(temp_, ": cannot create temp directory: ", std::strerror(errno));
}

OutputDir::~OutputDir() {
  if (committed_ || temp_.empty()) return;
  std::error_code ec;  // best effort: a destructor must not throw
  fs::remove_all(temp_, ec);
}

std::string OutputDir::path_for(const std::string& filename) const {
  return (fs::path(temp_) / filename).string();
}

void OutputDir::commit() {
  if (committed_) fail(final_, ": commit() called twice");
  sync_dir(temp_);
  std::error_code ec;
  const auto status = fs::symlink_status(final_, ec);
  const bool exists = fs::exists(status);
  if (exists && !overwrite_) fail(final_, ": appeared while writing; not replacing it");
  if (exists && !fs::is_directory(status))
    fail(final_, ": a non-directory appeared while writing; not replacing it");

  std::string aside;
  if (exists) {
    aside = cat(final_, ".wquant-old-", ::getpid());
    fs::remove_all(aside, ec);
    if (::rename(final_.c_str(), aside.c_str()) != 0)
      fail(final_, ": cannot move the existing output aside to ", aside, ": ",
           std::strerror(errno));
  }
  if (::rename(temp_.c_str(), final_.c_str()) != 0) {
    const int e = errno;
    if (!aside.empty()) ::rename(aside.c_str(), final_.c_str());  // put it back
    fail(final_, ": cannot rename ", temp_, " into place: ", std::strerror(e));
  }
  committed_ = true;
  sync_dir(parent_of(final_));
  if (!aside.empty()) {
    fs::remove_all(aside, ec);
    if (ec) fail(aside, ": cannot remove the replaced output: ", ec.message());
  }
}

void write_text_file(const std::string& path, const std::string& content) {
  const int fd = create_for_write(path);
  try {
    write_all(fd, path, content.data(), content.size());
  } catch (...) {
    ::close(fd);
    throw;
  }
  sync_and_close(fd, path);
}

void copy_file(const std::string& src, const std::string& dst) {
  const int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) fail(src, ": cannot open: ", std::strerror(errno));
  int out = -1;
  try {
    out = create_for_write(dst);
    std::vector<char> buf(size_t(1) << 20);
    for (;;) {
      const ssize_t r = ::read(in, buf.data(), buf.size());
      if (r < 0) {
        if (errno == EINTR) continue;
        fail(src, ": read failed: ", std::strerror(errno));
      }
      if (r == 0) break;
      write_all(out, dst, buf.data(), size_t(r));
    }
  } catch (...) {
    ::close(in);
    if (out >= 0) ::close(out);
    throw;
  }
  ::close(in);
  sync_and_close(out, dst);
}

}  // namespace wquant
