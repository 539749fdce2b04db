/* Interpreter benchmarks: the packed SGEMM against a naive loop on one conv-shaped product, and,
 * given ONNX models, the fp32 interpreter's time per run with a per-op-type breakdown.
 *
 *   bench_interp [-t THREADS] [-r RUNS] [model.onnx ...]
 *
 * Not part of the CMake build; from the repository root, after building into build/:
 *   cc -O2 -std=c11 -D_DEFAULT_SOURCE -Iinterp -Iir -Ifrontend benchmarks/bench_interp.c \
 *      build/frontend/libqc_frontend.a build/frontend/libqc_onnx_pb.a build/interp/libqc_interp.a \
 *      build/ir/libqc_ir.a -lprotobuf-c -lz -lm -lpthread -o bench_interp
 * Model inputs are filled with a fixed pseudo-random pattern; symbolic dims are taken as 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gemm.h"
#include "interp.h"
#include "onnx.h"

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* CPU time of the calling thread: unlike wall time it does not grow when other processes share
   the cores, so single-thread rates stay meaningful on a busy machine. */
static double cpu_now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void bench_gemm(int threads, int runs)
{
  int64_t m = 256, n = 3136, k = 576; /* a ResNet-50 layer1 3x3 conv as im2col GEMM */
  float *a = malloc(sizeof(float) * (size_t)(m * k)), *b = malloc(sizeof(float) * (size_t)(k * n));
  float *c = malloc(sizeof(float) * (size_t)(m * n)), *r = malloc(sizeof(float) * (size_t)(m * n));
  void *ws = malloc(qc_sgemm_ws_bytes(m, n, k));
  unsigned s = 1;
  for (int64_t i = 0; i < m * k; i++) a[i] = (float)((s = s * 69069u + 1u) >> 16) / 65536.0f - 0.5f;
  for (int64_t i = 0; i < k * n; i++) b[i] = (float)((s = s * 69069u + 1u) >> 16) / 65536.0f - 0.5f;
  qc_err e = {0};
  qc_pool *p1 = qc_pool_new(1, &e), *pt = qc_pool_new(threads, &e);
  double flop = 2.0 * (double)(m * n * k), best1 = 1e30, bestt = 1e30, naive = 1e30;
  double cpu1 = 1e30, cpun = 1e30;
  for (int rep = 0; rep < runs; rep++) {
    double c0 = cpu_now(), t0 = now();
    qc_sgemm(p1, false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n, ws);
    double t1 = now(), c1 = cpu_now();
    cpu1 = c1 - c0 < cpu1 ? c1 - c0 : cpu1;
    qc_sgemm(pt, false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n, ws);
    double t2 = now();
    best1 = t1 - t0 < best1 ? t1 - t0 : best1;
    bestt = t2 - t1 < bestt ? t2 - t1 : bestt;
  }
  for (int rep = 0; rep < (runs < 3 ? runs : 3); rep++) {
    double t0 = now(), c0 = cpu_now();
    for (int64_t i = 0; i < m; i++) { /* i-k-j order: the naive loop at its best */
      float *ci = r + i * n;
      memset(ci, 0, sizeof(float) * (size_t)n);
      for (int64_t q = 0; q < k; q++) {
        float av = a[i * k + q];
        const float *bq = b + q * n;
        for (int64_t j = 0; j < n; j++) ci[j] += av * bq[j];
      }
    }
    double t = now() - t0, ct = cpu_now() - c0;
    naive = t < naive ? t : naive;
    cpun = ct < cpun ? ct : cpun;
  }
  double md = 0;
  for (int64_t i = 0; i < m * n; i++) {
    double d = (double)c[i] - (double)r[i];
    md = d < 0 ? (-d > md ? -d : md) : (d > md ? d : md);
  }
  printf("sgemm %lldx%lldx%lld (%s), wall clock: packed %.1f GFLOP/s (1 thread), %.1f GFLOP/s "
         "(%d threads); naive i-k-j loop %.1f GFLOP/s\n",
         (long long)m, (long long)n, (long long)k, qc_sgemm_kernel_name(), flop / best1 * 1e-9,
         flop / bestt * 1e-9, qc_pool_threads(pt), flop / naive * 1e-9);
  printf("  per CPU-second (1 thread): packed %.1f GFLOP/s, naive %.1f GFLOP/s (%.1fx); "
         "max|diff| %.2g\n", flop / cpu1 * 1e-9, flop / cpun * 1e-9, cpun / cpu1, md);
  qc_pool_free(p1);
  qc_pool_free(pt);
  free(a);
  free(b);
  free(c);
  free(r);
  free(ws);
}

typedef struct {
  const qc_graph *g;
  double last, per_op[QC_OP_COUNT];
  int count[QC_OP_COUNT];
} profile;

static void observe(void *user, int32_t node, const qc_tensor *outs, int n_out)
{
  profile *p = user;
  double t = now();
  qc_op op = p->g->nodes[node].op;
  p->per_op[op] += t - p->last;
  p->count[op]++;
  p->last = t;
}

static int bench_model(const char *path, int threads, int runs)
{
  qc_err e = {0};
  qc_graph *g = NULL;
  qc_interp *it = NULL;
  qc_tensor in[16];
  int n_in = 0, rc = 1;
  memset(in, 0, sizeof in);
  if (qc_onnx_load(path, &g, &e) || qc_interp_new(g, threads, &it, &e)) {
    fprintf(stderr, "%s: %s\n", path, e.msg);
    goto done;
  }
  for (; n_in < g->n_inputs && n_in < 16; n_in++) {
    const qc_value *v = &g->values[g->inputs[n_in]];
    in[n_in].dtype = v->dtype;
    in[n_in].rank = v->rank;
    for (int d = 0; d < v->rank; d++) in[n_in].dims[d] = v->dims[d] >= 0 ? v->dims[d] : 1;
    int64_t bytes = qc_tensor_bytes(&in[n_in]);
    in[n_in].data = calloc(1, (size_t)bytes + 1);
    if (v->dtype == QC_DT_F32)
      for (int64_t i = 0; i < bytes / 4; i++)
        ((float *)in[n_in].data)[i] = (float)(i % 255) / 255.0f;
  }
  profile prof;
  memset(&prof, 0, sizeof prof);
  prof.g = g;
  qc_interp_set_observer(it, observe, &prof);
  double *times = calloc((size_t)runs + 1, sizeof(double)), cpu = 0;
  struct timespec c0, c1;
  for (int r = 0; r <= runs; r++) { /* run 0 warms the buffer cache and is not counted */
    if (r == 1) {
      memset(prof.per_op, 0, sizeof prof.per_op);
      memset(prof.count, 0, sizeof prof.count);
    }
    double t0 = now();
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    prof.last = t0;
    if (qc_interp_run(it, in, n_in, &e)) {
      fprintf(stderr, "%s: %s\n", path, e.msg);
      free(times);
      goto done;
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    if (r) times[r - 1] = now() - t0;
    if (r) cpu += (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
  }
  qsort(times, (size_t)runs, sizeof(double), cmp_double);
  printf("%s: %.3f s per run (median of %d, %d threads), %.3f CPU-s per run\n", path,
         times[runs / 2], runs, threads, cpu / runs);
  double total = 0;
  for (int op = 0; op < QC_OP_COUNT; op++) total += prof.per_op[op];
  for (int op = 0; op < QC_OP_COUNT; op++)
    if (prof.count[op])
      printf("  %-20s %4d nodes %8.1f ms/run %5.1f%%\n", qc_op_name((qc_op)op),
             prof.count[op] / runs, 1e3 * prof.per_op[op] / runs, 100 * prof.per_op[op] / total);
  free(times);
  rc = 0;
done:
  for (int i = 0; i < n_in; i++) free(in[i].data);
  qc_interp_free(it);
  qc_graph_free(g);
  return rc;
}

int main(int argc, char **argv)
{
  int threads = 0, runs = 5, rc = 0, i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
    else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) runs = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_interp [-t THREADS] [-r RUNS] [model.onnx ...]\n");
      return 2;
    }
  }
  if (runs < 1) runs = 1;
  if (threads <= 0) threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
  bench_gemm(threads, runs);
  for (; i < argc; i++) rc |= bench_model(argv[i], threads, runs);
  return rc;
}
