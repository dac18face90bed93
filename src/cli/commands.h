// The wquant subcommands. Each registers its options on the CLI11 app and
// returns the function that runs it (returning the process exit code).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace wquant::cli {

using Command = std::function<int()>;

Command add_quantize_command(CLI::App& app);
Command add_inspect_command(CLI::App& app);
Command add_generate_command(CLI::App& app);
Command add_eval_command(CLI::App& app);
Command add_embed_command(CLI::App& app);

// Adds --threads N (the threads of the model's linear layers and attention;
// default: WQUANT_THREADS, else one per core) to a command that runs a model.
void add_threads_option(CLI::App* cmd);

}  // namespace wquant::cli
