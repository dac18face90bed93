// --threads, shared by the commands that run a model.
#include "commands.h"
#include "wquant/kernels/thread_pool.h"

namespace wquant::cli {

void add_threads_option(CLI::App* cmd) {
  cmd->add_option_function<size_t>(
         "--threads", [](const size_t& n) { set_default_thread_count(n); },
         "threads for the model (default: WQUANT_THREADS, else one per core)")
      ->check(CLI::Range(size_t(1), size_t(1024)));
}

}  // namespace wquant::cli
