/* quantc: the command line. Dispatches to one subcommand; each parses its own options. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

#ifndef QC_VERSION
#define QC_VERSION "0.0.0"
#endif

static const char usage[] =
    "usage: quantc [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "A compiler for quantized neural networks.\n"
    "\n"
    "commands:\n"
    "  inspect MODEL        per-layer shapes, parameters and MACs of an ONNX model\n"
    "  run MODEL|DIR        run a model (or an artifact) on NPY inputs, write NPY outputs\n"
    "  eval MODEL           top-1 accuracy on a data set (Fashion-MNIST)\n"
    "  quantize MODEL       integer-only quantization: ONNX (QDQ), report, integer IR\n"
    "  finetune MODEL       train a model's weights (SGD/Adam, distillation, checkpoints)\n"
    "  compile MODEL -o DIR compile to native code: an artifact folder (kernels, weights)\n"
    "  verify DIR           compare an artifact layer by layer with the interpreter\n"
    "  bench DIR            per-layer timings of an artifact\n"
    "  help [COMMAND]       this text, or a command's (same as COMMAND --help)\n"
    "\n"
    "exit codes:\n"
    "  0  success\n"
    "  1  usage error (bad option or argument)\n"
    "  2  input error (malformed or invalid model or data file)\n"
    "  3  unsupported (valid input using an op, dtype or feature quantc does not implement,\n"
    "     or too large for quantc)\n"
    "  4  I/O error (a file cannot be opened, read or written)\n"
    "  5  internal error (a bug in quantc)\n"
    "\n"
    "Errors go to stderr as 'quantc: error: MESSAGE'. See docs/cli.md.\n";

typedef struct {
  const char *name;
  int (*fn)(int argc, char **argv);
} command;

static const command commands[] = {
    {"inspect", qc_cmd_inspect},
    {"run", qc_cmd_run},
    {"eval", qc_cmd_eval},
    {"quantize", qc_cmd_quantize},
    {"finetune", qc_cmd_finetune},
    {"compile", qc_cmd_compile},
    {"verify", qc_cmd_verify},
    {"bench", qc_cmd_bench},
};

static const command *find(const char *name)
{
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fputs(usage, stderr);
    return QC_EXIT_USAGE;
  }
  const char *a = argv[1];
  if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
    fputs(usage, stdout);
    return QC_EXIT_OK;
  }
  if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
    printf("quantc %s\n", QC_VERSION);
    return QC_EXIT_OK;
  }
  if (strcmp(a, "help") == 0) {
    if (argc == 2) {
      fputs(usage, stdout);
      return QC_EXIT_OK;
    }
    const command *c = find(argv[2]);
    if (!c) return qc_cli_usage_error(NULL, "unknown command '%s'", argv[2]);
    char *help_argv[] = {argv[2], "--help", NULL};
    return c->fn(2, help_argv);
  }
  if (a[0] == '-') return qc_cli_usage_error(NULL, "unknown option '%s'", a);
  const command *c = find(a);
  if (!c) return qc_cli_usage_error(NULL, "unknown command '%s'", a);
  return c->fn(argc - 1, argv + 1);
}
