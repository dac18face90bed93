// wquant: weight quantization of transformer checkpoints.
// Library errors (wquant::Error) become one line on stderr and exit code 1.
#include <cstdio>
#include <exception>
#include <new>

#include "commands.h"
#include "wquant/core/error.h"

int main(int argc, char** argv) {
  CLI::App app{
      "wquant: quantize transformer checkpoints (safetensors, GGUF) to 8/4/3/2-bit weights\n"
      "in the compressed-tensors format, with a per-layer error and footprint report."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "wquant 0.1.0");
  auto quantize = wquant::cli::add_quantize_command(app);
  auto inspect = wquant::cli::add_inspect_command(app);
  auto generate = wquant::cli::add_generate_command(app);
  auto eval = wquant::cli::add_eval_command(app);
  auto embed = wquant::cli::add_embed_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (app.got_subcommand("quantize")) return quantize();
    if (app.got_subcommand("inspect")) return inspect();
    if (app.got_subcommand("generate")) return generate();
    if (app.got_subcommand("eval")) return eval();
    if (app.got_subcommand("embed")) return embed();
  } catch (const wquant::Error& e) {
    std::fprintf(stderr, "wquant: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "wquant: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wquant: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
