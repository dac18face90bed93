// ThreadPool: a fixed set of std::threads that split a range of indices
// (the output rows of a linear layer) into contiguous chunks, one per thread.
// Idle threads spin for up to 100 us before sleeping, so the calls of one
// decoding step, tens of microseconds apart, do not each pay a wake-up.
// It is an explicit object that kernels take as an argument: there is no
// global pool. The calling thread runs the first chunk itself, so a pool of
// one thread starts no thread at all.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace wquant {

// Returns the thread count of a ThreadPool(0): the value last given to
// set_default_thread_count, else the environment variable WQUANT_THREADS,
// else std::thread::hardware_concurrency() (1 if unknown). Throws Error if
// WQUANT_THREADS is set but not an integer from 1 to 1024.
size_t default_thread_count();

// Sets the thread count of later ThreadPool(0)s (the models' pools, built
// when a model loads); 0 restores the default. The CLI's --threads.
void set_default_thread_count(size_t n);

class ThreadPool {
 public:
  // Starts num_threads - 1 worker threads; 0 means default_thread_count().
  explicit ThreadPool(size_t num_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Returns the number of threads that run chunks, the caller included.
  size_t num_threads() const { return workers_.size() + 1; }

  // Calls fn(begin, end) on disjoint chunks covering [0, n) and returns when
  // all have finished. Chunks are contiguous, in thread order, and at most
  // num_threads() of them; each holds at least min_chunk indices (except
  // when n itself is smaller), so small jobs use fewer threads. If fn throws,
  // the first exception is rethrown here after every chunk has ended.
  // Calls from several threads at once are serialized.
  void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn,
                    int64_t min_chunk = 1);

 private:
  void worker_loop(size_t index);
  // Runs chunk `index` of the current job, recording an exception if it throws.
  void run_chunk(size_t index);

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // one parallel_for at a time
  std::mutex mutex_;       // guards everything below
  std::condition_variable start_cv_, done_cv_;
  // Incremented per job; workers spin, then wait, for a change. Atomic so
  // that spinning threads can read it (and pending_, stop_) without mutex_.
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::atomic<size_t> pending_{0};  // workers that have not finished the current job
  // The current job: chunk i is [n * i / chunks, n * (i + 1) / chunks).
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  size_t chunks_ = 0;
  std::exception_ptr error_;
};

}  // namespace wquant
