/* Private to tools/: what the `quantc` subcommands share. Only tools/ prints and exits. */
#ifndef QC_CLI_H
#define QC_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include "ir.h"

/* Exit codes (docs/cli.md). */
enum {
  QC_EXIT_OK = 0,
  QC_EXIT_USAGE = 1,       /* bad option or argument */
  QC_EXIT_INPUT = 2,       /* malformed or invalid model or data file */
  QC_EXIT_UNSUPPORTED = 3, /* valid input that quantc does not implement or that is too large */
  QC_EXIT_IO = 4,          /* a file cannot be opened, read or written */
  QC_EXIT_INTERNAL = 5,    /* a bug in quantc */
};

int qc_cli_exit_code(qc_status s);
/* Prints "quantc: error: MSG" to stderr and returns the exit code for e->code. */
int qc_cli_fail(const qc_err *e);
/* Prints a usage error for command cmd and returns QC_EXIT_USAGE. */
int qc_cli_usage_error(const char *cmd, const char *fmt, ...) QC_PRINTF(2, 3);
/* Handles a getopt_long return of '?' or ':' (opterr = 0, optstring starting with ':'). */
int qc_cli_bad_option(const char *cmd, int c, char **argv);

/* Strict numeric option parsing: the whole string, in range; a usage error otherwise. */
bool qc_cli_parse_long(const char *cmd, const char *opt, const char *s, long min, long max,
                       long *out, int *rc);
bool qc_cli_parse_double(const char *cmd, const char *opt, const char *s, double *out, int *rc);

/* Options every command that loads a model shares. */
typedef struct {
  bool optimize; /* constant folding and dead-code removal after shape inference */
  int threads;   /* interpreter threads; 0: one per CPU */
} qc_cli_load_opts;

/* Imports an ONNX model (or parses IR text, docs/ir-text.md, when the path ends in ".qc": the
   exact integer model `quantc quantize --ir` writes), then runs shape inference and (when
   opts->optimize) constant folding
   with the interpreter's kernels and dead-code removal. */
qc_status qc_cli_load_model(const char *path, const qc_cli_load_opts *opts, qc_graph **out,
                            qc_err *e);

/* Runs the named built-in passes (passes.h; "fold-constants" with the interpreter's kernels as
   evaluator, as qc_cli_load_model does), verifying the graph after each. At most 16. */
qc_status qc_cli_run_passes(qc_graph *g, const char *const *names, int n, qc_err *e);

/* "[N,3,224,224]": symbolic dims by name, unknown ones as '?', unknown rank as "[?]". */
void qc_cli_shape_str(const qc_graph *g, int rank, const int64_t *dims, char *buf, size_t cap);

int qc_cmd_inspect(int argc, char **argv);
int qc_cmd_run(int argc, char **argv);
int qc_cmd_eval(int argc, char **argv);
int qc_cmd_quantize(int argc, char **argv);
int qc_cmd_finetune(int argc, char **argv);
int qc_cmd_compile(int argc, char **argv);
int qc_cmd_verify(int argc, char **argv);
int qc_cmd_bench(int argc, char **argv);

#endif
