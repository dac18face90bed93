#include "wquant/kernels/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>

#include "wquant/core/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace wquant {
namespace {

// How long a thread spins on an atomic before sleeping on a condition
// variable. Decoding one token makes a few hundred parallel_for calls a few
// tens of microseconds apart; waking a sleeping thread costs about 50 us on
// Linux, more than the work itself, so workers and the caller spin first.
// 100 us bounds the CPU time burnt when no work comes, and the spin yields
// the core every 64 pauses in case the thread it waits for needs it.
constexpr auto kSpin = std::chrono::microseconds(100);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// Returns true as soon as done() holds, false if it has not within kSpin.
template <class Done>
bool spin_until(const Done& done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (done()) return true;
    cpu_relax();
    if ((i & 63) == 63) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      // On a machine with more runnable threads than cores, let the thread
      // we are waiting for have this core.
      std::this_thread::yield();
    }
  }
}

std::atomic<size_t> g_default_threads{0};  // 0: not set

}  // namespace

size_t default_thread_count() {
  if (const size_t n = g_default_threads.load()) return n;
  if (const char* env = std::getenv("WQUANT_THREADS"); env && *env) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (*end != '\0' || n < 1 || n > 1024)
      fail("WQUANT_THREADS='", env, "' is not an integer from 1 to 1024");
    return size_t(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

void set_default_thread_count(size_t n) { g_default_threads.store(n); }

ThreadPool::ThreadPool(size_t num_threads) {
  if (num_threads == 0) num_threads = default_thread_count();
  workers_.reserve(num_threads - 1);
  for (size_t i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true, std::memory_order_release);
  }
  start_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::run_chunk(size_t index) {
  if (index >= chunks_) return;
  const int64_t begin = n_ * int64_t(index) / int64_t(chunks_);
  const int64_t end = n_ * int64_t(index + 1) / int64_t(chunks_);
  if (begin == end) return;
  try {
    (*fn_)(begin, end);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::worker_loop(size_t index) {
  uint64_t seen = 0;
  for (;;) {
    auto started = [&] { return stop_.load(std::memory_order_acquire) ||
                                generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(started)) {
      std::unique_lock<std::mutex> lock(mutex_);
      start_cv_.wait(lock, started);
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    run_chunk(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Under the mutex, so the notify cannot fall between the caller's
      // check of pending_ and its wait.
      std::lock_guard<std::mutex> lock(mutex_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                              int64_t min_chunk) {
  if (n <= 0) return;
  min_chunk = std::max<int64_t>(min_chunk, 1);
  const int64_t wanted = std::min<int64_t>(int64_t(num_threads()), (n + min_chunk - 1) / min_chunk);
  if (wanted <= 1) {  // not worth waking anyone
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mutex_);
  {
    // The job is published by the release increment of generation_, which
    // spinning workers read without the mutex; sleeping ones get the notify.
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = &fn;
    n_ = n;
    chunks_ = size_t(wanted);
    error_ = nullptr;
    pending_.store(workers_.size(), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_cv_.notify_all();
  run_chunk(0);
  auto done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(done)) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_cv_.wait(lock, done);
  }
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    error = error_;
    fn_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace wquant
