#include "wquant/kernels/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace wquant {
namespace {

// Returns how many times each index of [0, n) was visited, and the chunks.
std::vector<int> visits(ThreadPool& pool, int64_t n, int64_t min_chunk,
                        std::vector<std::pair<int64_t, int64_t>>* chunks = nullptr) {
  std::vector<std::atomic<int>> count(size_t(std::max<int64_t>(n, 0)));
  std::mutex m;
  pool.parallel_for(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) ++count[size_t(i)];
    std::lock_guard<std::mutex> lock(m);
    if (chunks) chunks->emplace_back(begin, end);
  }, min_chunk);
  return std::vector<int>(count.begin(), count.end());
}

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
  for (size_t threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.num_threads(), threads);
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      EXPECT_EQ(visits(pool, n, 1), std::vector<int>(size_t(n), 1))
          << threads << " threads, n " << n;
    }
  }
}

TEST(ThreadPool, DefaultUsesTheHardware) {
  ThreadPool pool;
  EXPECT_GE(pool.num_threads(), 1u);
}

TEST(ThreadPool, SplitsIntoAtMostOneChunkPerThreadOfAtLeastMinChunk) {
  ThreadPool pool(4);
  std::vector<std::pair<int64_t, int64_t>> chunks;
  visits(pool, 100, 1, &chunks);
  EXPECT_EQ(chunks.size(), 4u);
  chunks.clear();
  visits(pool, 100, 40, &chunks);  // ceil(100 / 40) = 3 chunks
  EXPECT_EQ(chunks.size(), 3u);
  for (auto [b, e] : chunks) EXPECT_GE(e - b, 33);
  chunks.clear();
  visits(pool, 100, 1000, &chunks);  // too small to share: the caller runs it all
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0], std::make_pair(int64_t(0), int64_t(100)));
}

TEST(ThreadPool, RethrowsTheExceptionOfAChunkAndStaysUsable) {
  ThreadPool pool(3);
  EXPECT_THROW(pool.parallel_for(30, [](int64_t begin, int64_t) {
    if (begin > 0) throw std::runtime_error("chunk failed");
  }), std::runtime_error);
  EXPECT_EQ(visits(pool, 30, 1), std::vector<int>(30, 1));
}

TEST(ThreadPool, ManyShortJobs) {
  ThreadPool pool(3);
  std::atomic<int64_t> total{0};
  for (int job = 0; job < 2000; ++job) {
    pool.parallel_for(10, [&](int64_t b, int64_t e) { total += e - b; });
  }
  EXPECT_EQ(total.load(), 20000);
}

}  // namespace
}  // namespace wquant
