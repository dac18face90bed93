// OutputDir (atomic checkpoint directory), write_text_file and copy_file.
#include <gtest/gtest.h>

#include "temp_dir_test.h"
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "wquant/core/error.h"
#include "wquant/io/output_dir.h"

namespace wquant {
namespace {
namespace fs = std::filesystem;

class OutputDirTest : public testing::TempDirTest {
 protected:

  // Returns the names in the test's temp dir, sorted.
  std::vector<std::string> listing(const std::string& sub = "") const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_ / sub)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

template <class F>
void expect_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

TEST_F(OutputDirTest, CommitMovesTempIntoPlace) {
  const std::string final_path = path("out");
  {
    OutputDir out(final_path, false);
    EXPECT_EQ(out.temp_path(), cat(final_path, ".wquant-tmp-", ::getpid()));
    EXPECT_EQ(out.path_for("config.json"), out.temp_path() + "/config.json");
    write_text_file(out.path_for("config.json"), "{}");
    EXPECT_FALSE(fs::exists(final_path));  // nothing visible before commit
    out.commit();
    EXPECT_THROW(out.commit(), Error);
  }
  EXPECT_EQ(listing(), std::vector<std::string>({"out"}));
  EXPECT_EQ(read_all(final_path + "/config.json"), "{}");
}

TEST_F(OutputDirTest, TrailingSlashIsIgnored) {
  OutputDir out(path("out") + "/", false);
  EXPECT_EQ(out.final_path(), path("out"));
  out.commit();
  EXPECT_TRUE(fs::is_directory(path("out")));
}

TEST_F(OutputDirTest, DestructorWithoutCommitRemovesTemp) {
  {
    OutputDir out(path("out"), false);
    fs::create_directories(out.path_for("sub"));
    write_text_file(out.path_for("sub/a.txt"), "partial");
    EXPECT_TRUE(fs::exists(out.temp_path()));
  }
  EXPECT_TRUE(listing().empty());
}

TEST_F(OutputDirTest, ExistingFinalPathIsRefusedWithoutOverwrite) {
  fs::create_directories(path("out"));
  expect_error([&] { OutputDir out(path("out"), false); }, {path("out"), "already exists"});
  EXPECT_EQ(listing(), std::vector<std::string>({"out"}));  // no temp dir left
}

TEST_F(OutputDirTest, OverwriteReplacesTheOldDirectory) {
  fs::create_directories(path("out"));
  write_text_file(path("out/old.txt"), "old");
  {
    OutputDir out(path("out"), true);
    write_text_file(out.path_for("new.txt"), "new");
    EXPECT_TRUE(fs::exists(path("out/old.txt")));  // untouched until commit
    out.commit();
  }
  EXPECT_EQ(listing(), std::vector<std::string>({"out"}));  // aside copy removed
  EXPECT_EQ(listing("out"), std::vector<std::string>({"new.txt"}));
}

TEST_F(OutputDirTest, OverwriteNeverReplacesAFileOrSymlink) {
  write_text_file(path("weights"), "input");
  expect_error([&] { OutputDir out(path("weights"), true); },
               {path("weights"), "not a directory"});
  fs::create_directories(path("target"));
  fs::create_directory_symlink(path("target"), path("link"));
  expect_error([&] { OutputDir out(path("link"), true); }, {path("link"), "not a directory"});
  EXPECT_EQ(listing(), std::vector<std::string>({"link", "target", "weights"}));
  EXPECT_EQ(read_all(path("weights")), "input");
}

TEST_F(OutputDirTest, OverwriteWithoutExistingFinal) {
  OutputDir out(path("out"), true);
  out.commit();
  EXPECT_EQ(listing(), std::vector<std::string>({"out"}));
}

TEST_F(OutputDirTest, FinalAppearingDuringWriteIsNotReplaced) {
  OutputDir out(path("out"), false);
  fs::create_directories(path("out"));
  expect_error([&] { out.commit(); }, {path("out"), "appeared"});
}

TEST_F(OutputDirTest, ParentMustBeADirectory) {
  expect_error([&] { OutputDir out(path("missing/out"), false); },
               {path("missing/out"), "parent directory", "does not exist"});
  write_text_file(path("file"), "");
  expect_error([&] { OutputDir out(path("file/out"), false); },
               {path("file/out"), "parent", "is not a directory"});
}

TEST_F(OutputDirTest, ParentMustBeWritable) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can write to read-only directories";
  fs::create_directories(path("ro"));
  fs::permissions(path("ro"), fs::perms::owner_read | fs::perms::owner_exec);
  expect_error([&] { OutputDir out(path("ro/out"), false); }, {path("ro/out"), "not writable"});
  fs::permissions(path("ro"), fs::perms::owner_all);
}

TEST_F(OutputDirTest, WriteTextFileErrors) {
  expect_error([] { write_text_file("/dev/full", "some text"); }, {"/dev/full", "No space left"});
  expect_error([&] { write_text_file(path("no/dir/x.json"), "{}"); },
               {path("no/dir/x.json"), "cannot create"});
}

TEST_F(OutputDirTest, CopyFile) {
  // Larger than the 1 MiB copy buffer, with a non-repeating tail.
  std::string content(3 << 20, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = char((i * 2654435761u) >> 13);
  write_text_file(path("src.bin"), content);
  copy_file(path("src.bin"), path("dst.bin"));
  EXPECT_EQ(read_all(path("dst.bin")), content);
  write_text_file(path("empty"), "");
  copy_file(path("empty"), path("empty2"));
  EXPECT_EQ(fs::file_size(path("empty2")), 0u);

  expect_error([&] { copy_file(path("nope"), path("x")); }, {path("nope"), "cannot open"});
  expect_error([&] { copy_file(path("src.bin"), "/dev/full"); }, {"/dev/full", "No space left"});
}

}  // namespace
}  // namespace wquant
