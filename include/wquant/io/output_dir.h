// OutputDir: writes a checkpoint directory atomically. Files go into a
// sibling temp directory "<final>.wquant-tmp-<pid>", and commit() renames it
// into place, so a failed or interrupted conversion never leaves a
// half-written checkpoint at the final path (only a temp directory, which the
// destructor removes when it gets the chance).
//
// Also: write_text_file and copy_file, which fsync and report failures
// (ENOSPC, EIO) as Errors naming the file.
#pragma once

#include <string>

namespace wquant {

class OutputDir {
 public:
  // Checks that `final_path` does not exist (with `overwrite`: or is a
  // directory, never a file or symlink) and that its parent is a writable
  // directory, then creates the temp directory.
  // Throws Error naming the path and the problem.
  OutputDir(const std::string& final_path, bool overwrite);
  // Removes the temp directory and its contents unless commit() succeeded.
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

  // Returns the path where `filename` is to be written (inside the temp dir).
  std::string path_for(const std::string& filename) const;
  const std::string& final_path() const { return final_; }
  const std::string& temp_path() const { return temp_; }

  // Renames the temp directory to the final path. With overwrite, an existing
  // final path is first renamed aside, then removed once the new one is in
  // place. Syncs the directories. Throws Error naming the paths on failure.
  void commit();

 private:
  std::string final_;
  std::string temp_;
  bool overwrite_ = false;
  bool committed_ = false;
};

// Writes `content` to `path` (created or truncated) and fsyncs it.
// Throws Error naming the file on failure.
void write_text_file(const std::string& path, const std::string& content);

// Copies the file `src` to `dst` (created or truncated) and fsyncs it.
// Throws Error naming the file that failed.
void copy_file(const std::string& src, const std::string& dst);

}  // namespace wquant
