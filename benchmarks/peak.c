/* Peak-throughput microbenchmarks: the multiply-accumulate rate a core (and all cores) can reach
   with each vector instruction set the host has, the ceiling against which quantc's and ONNX
   Runtime's kernels are judged (benchmarks/codegen.md).

   build: cc -O2 -pthread benchmarks/peak.c -o peak      (any x86-64 or AArch64 gcc/clang)
   usage: peak [--threads N] [--ms T] [--json]
     N     threads of the multi-thread column, one pinned per CPU (default: online CPUs)
     T     milliseconds per measurement (default 200); the best of 3 is kept
     json  one JSON object on stdout instead of the table (benchmarks/codegen_bench.sh reads it)

   Every kernel is one inline-asm loop with its accumulators in fixed registers: at least
   latency x issue rate of them (FMA: 4 cycles x 2 pipes on Zen 3 = 8; we keep 12 ymm / 24 zmm),
   so the loop is throughput-bound. A C loop over an accumulator array that the compiler spills
   measures store forwarding instead and reads 3-4x low. Kernels are compiled with
   __attribute__((target)) and chosen at run time (cpuid / HWCAP), so the file builds on any host
   of its architecture. GMAC/s = MACs per instruction x instructions / seconds, the seconds
   being each thread's own CPU time (the machine may be shared; the wall-clock rate is printed
   too).

   Each kernel also stores its accumulators, so tests/bench/test_peak.c can check that the loop
   really did iters x body multiply-adds (build with -DQC_PEAK_NO_MAIN to include it). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

/* One kernel: runs ITERS loop trips over fixed operands A and B (64 bytes each, broadcast into
   the vector registers' lanes as loaded), stores its NACC accumulators of VBYTES each to OUT. */
typedef void (*peak_fn)(uint64_t iters, const void *a, const void *b, void *out);

typedef struct {
  const char *name;  /* what it measures */
  const char *isa;   /* the instruction set / feature flags it needs */
  const char *instr; /* the multiply instruction(s) of one step */
  int macs_per_step; /* multiply-adds in one step (one accumulator update) */
  int steps;         /* steps per loop trip */
  int nacc;          /* accumulators stored to OUT */
  int vbytes;        /* bytes per accumulator */
  int elem;          /* accumulator element: 'f' fp32, 'i' int32 */
  peak_fn fn;
  int (*have)(void);
} peak_kernel;

#define PEAK_OUT_BYTES (32 * 64)

/* ---- x86-64 ------------------------------------------------------------------------------ */
#if defined(__x86_64__)

#define NL "\n\t"
#define R12(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11)
#define R24(M) R12(M) M(12) M(13) M(14) M(15) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23)
#define YCLOB "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", \
              "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
#define ZCLOB YCLOB, "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", \
              "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31"

static int cpuid7(int sub, unsigned *ebx, unsigned *ecx, unsigned *edx, unsigned *eax)
{
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, (unsigned)sub, &a, &b, &c, &d)) return 0;
  *eax = a, *ebx = b, *ecx = c, *edx = d;
  return 1;
}

static int have_avx2_fma(void)
{
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int have_avx2(void)
{
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

/* libgcc's avx512f check includes the OS's XCR0 support for zmm state. */
static int have_avx512f(void)
{
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

static int have_avx512vnni(void)
{
  unsigned a, b, c, d;
  return have_avx512f() && cpuid7(0, &b, &c, &d, &a) && (c >> 11 & 1); /* CPUID.7.0:ECX[11] */
}

static int have_avxvnni(void)
{
  unsigned a, b, c, d;
  return have_avx2() && cpuid7(1, &b, &c, &d, &a) && (a >> 4 & 1); /* CPUID.7.1:EAX[4] */
}

/* fp32 FMA, ymm: 12 accumulators ymm0-11 += ymm12 * ymm13, two steps of each per trip. */
#define FMA_Y(i) "vfmadd231ps %%ymm12, %%ymm13, %%ymm" #i NL
#define ZERO_Y(i) "vpxor %%ymm" #i ", %%ymm" #i ", %%ymm" #i NL
#define STORE_Y(i) "vmovdqu %%ymm" #i ", " #i "*32(%[o])" NL
__attribute__((target("avx2,fma"))) static void k_fma_ymm(uint64_t iters, const void *a,
                                                            const void *b, void *out)
{
  __asm__ volatile("vmovups (%[a]), %%ymm12" NL "vmovups (%[b]), %%ymm13" NL R12(ZERO_Y)
                   "1:" NL R12(FMA_Y) R12(FMA_Y) "dec %[n]" NL "jnz 1b" NL R12(STORE_Y)
                   "vzeroupper" NL
                   : [n] "+r"(iters)
                   : [a] "r"(a), [b] "r"(b), [o] "r"(out)
                   : YCLOB, "memory", "cc");
}

/* int8, AVX2: u8 x s8 pairs summed to int16 (vpmaddubsw, saturating), int16 pairs to int32
   against ones (vpmaddwd), accumulate (vpaddd): 32 MACs per step. The temporaries are written
   fresh each step, so renaming keeps the 8 accumulator chains independent. */
#define MUB_Y(i, t)                                              \
  "vpmaddubsw %%ymm14, %%ymm13, %%ymm" #t NL                     \
  "vpmaddwd %%ymm15, %%ymm" #t ", %%ymm" #t NL                   \
  "vpaddd %%ymm" #t ", %%ymm" #i ", %%ymm" #i NL
#define MUB_BODY MUB_Y(0, 8) MUB_Y(1, 9) MUB_Y(2, 10) MUB_Y(3, 11) MUB_Y(4, 12) MUB_Y(5, 8) \
    MUB_Y(6, 9) MUB_Y(7, 10)
#define R8(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)
__attribute__((target("avx2"))) static void k_maddubs_ymm(uint64_t iters, const void *a,
                                                            const void *b, void *out)
{
  static const int16_t ones[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  __asm__ volatile("vmovdqu (%[a]), %%ymm13" NL "vmovdqu (%[b]), %%ymm14" NL
                   "vmovdqu (%[one]), %%ymm15" NL R8(ZERO_Y)
                   "1:" NL MUB_BODY MUB_BODY "dec %[n]" NL "jnz 1b" NL R8(STORE_Y)
                   "vzeroupper" NL
                   : [n] "+r"(iters)
                   : [a] "r"(a), [b] "r"(b), [o] "r"(out), [one] "r"(ones)
                   : YCLOB, "memory", "cc");
}

/* int16, AVX2: vpmaddwd (int16 pairs to int32) + vpaddd, 16 MACs per step; the path quantc's
   AVX2 int8 kernels take (operands widened to int16, so no int16 saturation). */
#define MWD_Y(i, t)                                              \
  "vpmaddwd %%ymm14, %%ymm13, %%ymm" #t NL                       \
  "vpaddd %%ymm" #t ", %%ymm" #i ", %%ymm" #i NL
#define MWD_BODY MWD_Y(0, 8) MWD_Y(1, 9) MWD_Y(2, 10) MWD_Y(3, 11) MWD_Y(4, 12) MWD_Y(5, 8) \
    MWD_Y(6, 9) MWD_Y(7, 10)
__attribute__((target("avx2"))) static void k_maddwd_ymm(uint64_t iters, const void *a,
                                                           const void *b, void *out)
{
  __asm__ volatile("vmovdqu (%[a]), %%ymm13" NL "vmovdqu (%[b]), %%ymm14" NL R8(ZERO_Y)
                   "1:" NL MWD_BODY MWD_BODY "dec %[n]" NL "jnz 1b" NL R8(STORE_Y)
                   "vzeroupper" NL
                   : [n] "+r"(iters)
                   : [a] "r"(a), [b] "r"(b), [o] "r"(out)
                   : YCLOB, "memory", "cc");
}

/* AVX-VNNI (VEX-encoded vpdpbusd, ymm): u8 x s8 quads into int32, 32 MACs per instruction. */
#define VNNI_Y(i) "%{vex%} vpdpbusd %%ymm13, %%ymm12, %%ymm" #i NL
__attribute__((target("avx2"))) static void k_avxvnni_ymm(uint64_t iters, const void *a,
                                                            const void *b, void *out)
{
  __asm__ volatile("vmovdqu (%[a]), %%ymm12" NL "vmovdqu (%[b]), %%ymm13" NL R12(ZERO_Y)
                   "1:" NL R12(VNNI_Y) R12(VNNI_Y) "dec %[n]" NL "jnz 1b" NL R12(STORE_Y)
                   "vzeroupper" NL
                   : [n] "+r"(iters)
                   : [a] "r"(a), [b] "r"(b), [o] "r"(out)
                   : YCLOB, "memory", "cc");
}

/* AVX-512: 24 zmm accumulators (zmm0-23) against zmm30/zmm31. */
#define ZERO_Z(i) "vpxord %%zmm" #i ", %%zmm" #i ", %%zmm" #i NL
#define STORE_Z(i) "vmovdqu32 %%zmm" #i ", " #i "*64(%[o])" NL
#define FMA_Z(i) "vfmadd231ps %%zmm30, %%zmm31, %%zmm" #i NL
__attribute__((target("avx512f"))) static void k_fma_zmm(uint64_t iters, const void *a,
                                                           const void *b, void *out)
{
  __asm__ volatile("vmovups (%[a]), %%zmm30" NL "vmovups (%[b]), %%zmm31" NL R24(ZERO_Z)
                   "1:" NL R24(FMA_Z) "dec %[n]" NL "jnz 1b" NL R24(STORE_Z) "vzeroupper" NL
                   : [n] "+r"(iters)
                   : [a] "r"(a), [b] "r"(b), [o] "r"(out)
                   : ZCLOB, "memory", "cc");
}

/* AVX-512 VNNI vpdpbusd zmm: 64 MACs per instruction. */
#define VNNI_Z(i) "vpdpbusd %%zmm31, %%zmm30, %%zmm" #i NL
__attribute__((target("avx512f"))) static void k_vnni_zmm(uint64_t iters, const void *a,
                                                            const void *b, void *out)
{
  __asm__ volatile("vmovdqu32 (%[a]), %%zmm30" NL "vmovdqu32 (%[b]), %%zmm31" NL R24(ZERO_Z)
                   "1:" NL R24(VNNI_Z) "dec %[n]" NL "jnz 1b" NL R24(STORE_Z) "vzeroupper" NL
                   : [n] "+r"(iters)
                   : [a] "r"(a), [b] "r"(b), [o] "r"(out)
                   : ZCLOB, "memory", "cc");
}

static const peak_kernel peak_kernels[] = {
    {"fp32 FMA", "avx2 fma", "vfmadd231ps ymm", 8, 24, 12, 32, 'f', k_fma_ymm, have_avx2_fma},
    {"fp32 FMA", "avx512f", "vfmadd231ps zmm", 16, 24, 24, 64, 'f', k_fma_zmm, have_avx512f},
    {"int8 u8*s8", "avx2", "vpmaddubsw+vpmaddwd+vpaddd ymm", 32, 16, 8, 32, 'i', k_maddubs_ymm,
     have_avx2},
    {"int16 (quantc avx2)", "avx2", "vpmaddwd+vpaddd ymm", 16, 16, 8, 32, 'i', k_maddwd_ymm,
     have_avx2},
    {"int8 u8*s8", "avx512vnni", "vpdpbusd zmm", 64, 24, 24, 64, 'i', k_vnni_zmm,
     have_avx512vnni},
    {"int8 u8*s8", "avxvnni", "{vex} vpdpbusd ymm", 32, 24, 12, 32, 'i', k_avxvnni_ymm,
     have_avxvnni},
};

/* ---- AArch64 ----------------------------------------------------------------------------- */
#elif defined(__aarch64__)

#define NL "\n\t"
#define R24(M)                                                                               \
  M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15) M(16) \
  M(17) M(18) M(19) M(20) M(21) M(22) M(23)
#define VCLOB                                                                                  \
  "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", \
      "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v30", "v31"
#define ZERO_V(i) "movi v" #i ".4s, #0" NL
#define STORE_V(i) "str q" #i ", [%[o], #" #i "*16]" NL

static int have_neon(void) { return 1; }
static int have_dotprod(void) { return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }

/* fp32 FMLA, 4 lanes: 24 accumulators (latency 4 x 4 pipes on Neoverse V1 = 16). */
#define FMLA_V(i) "fmla v" #i ".4s, v30.4s, v31.4s" NL
static void k_fmla(uint64_t iters, const void *a, const void *b, void *out)
{
  __asm__ volatile("ldr q30, [%[a]]" NL "ldr q31, [%[b]]" NL R24(ZERO_V)
                   "1:" NL R24(FMLA_V) "subs %[n], %[n], #1" NL "b.ne 1b" NL R24(STORE_V)
                   : [n] "+r"(iters)
                   : [a] "r"(a), [b] "r"(b), [o] "r"(out)
                   : VCLOB, "memory", "cc");
}

/* int8 SDOT: s8 x s8 quads into int32 lanes, 16 MACs per instruction. */
#define SDOT_V(i) "sdot v" #i ".4s, v30.16b, v31.16b" NL
__attribute__((target("arch=armv8.2-a+dotprod"))) static void k_sdot(uint64_t iters, const void *a, const void *b, void *out)
{
  __asm__ volatile("ldr q30, [%[a]]" NL "ldr q31, [%[b]]" NL
                   R24(ZERO_V) "1:" NL R24(SDOT_V) "subs %[n], %[n], #1" NL "b.ne 1b" NL
                   R24(STORE_V)
                   : [n] "+r"(iters)
                   : [a] "r"(a), [b] "r"(b), [o] "r"(out)
                   : VCLOB, "memory", "cc");
}

static const peak_kernel peak_kernels[] = {
    {"fp32 FMA", "neon", "fmla v.4s", 4, 24, 24, 16, 'f', k_fmla, have_neon},
    {"int8 s8*s8", "dotprod", "sdot v.4s", 16, 24, 24, 16, 'i', k_sdot, have_dotprod},
};

#else
#error "peak.c: x86-64 or AArch64 only"
#endif

#define PEAK_NKERNELS ((int)(sizeof peak_kernels / sizeof peak_kernels[0]))

/* Fills the 64-byte operands a kernel reads so that every accumulator lane gains exactly
   PEAK_LANE_GAIN per step: fp32 1.0*1.0 = 1; int8 u8 3 x s8 -2 over 4 bytes = -24 (maddubs,
   vnni); int16 3 x -2 over 2 = -12 (maddwd); sdot s8 3 x -2 over 4 = -24. */
static int64_t peak_operands(const peak_kernel *k, void *a, void *b)
{
  if (k->elem == 'f') {
    float *fa = a, *fb = b;
    for (int i = 0; i < 16; i++) fa[i] = fb[i] = 1.0f;
    return 1;
  }
  if (strstr(k->instr, "vpmaddubsw") == k->instr || strstr(k->instr, "vpdpbusd") ||
      strstr(k->instr, "sdot")) {
    memset(a, 3, 64);
    memset(b, 0xfe, 64); /* -2 as s8 */
    return -24;
  }
  int16_t *ia = a, *ib = b; /* vpmaddwd */
  for (int i = 0; i < 32; i++) ia[i] = 3, ib[i] = -2;
  return -12;
}

static double clock_s(clockid_t c)
{
  struct timespec ts;
  clock_gettime(c, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }

typedef struct {
  const peak_kernel *k;
  uint64_t iters;
  int cpu; /* pin here, -1: do not pin */
  pthread_barrier_t *bar;
  double t0, t1;   /* wall clock */
  double c0, c1;   /* this thread's CPU time */
} peak_job;

static void *peak_thread(void *arg)
{
  peak_job *j = arg;
  _Alignas(64) unsigned char a[64], b[64], out[PEAK_OUT_BYTES];
  if (j->cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(j->cpu, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* best effort */
  }
  peak_operands(j->k, a, b);
  j->k->fn(j->iters / 16 + 1, a, b, out); /* warm up: clocks and, on AVX-512, the license */
  pthread_barrier_wait(j->bar);
  j->t0 = now_s();
  j->c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
  j->k->fn(j->iters, a, b, out);
  j->c1 = clock_s(CLOCK_THREAD_CPUTIME_ID);
  j->t1 = now_s();
  return NULL;
}

/* MACs per second of NT threads each running ITERS trips, as the sum over threads of MACs per
   second of the thread's own CPU time: time other processes take from a shared machine does
   not count against the kernel. *WALL gets total MACs / wall time from the first start to the
   last end (what the machine delivered while shared). 0 on a thread failure. */
static double peak_rate(const peak_kernel *k, int nt, uint64_t iters, double *wall)
{
  *wall = 0;
  peak_job jobs[256];
  pthread_t tid[256];
  pthread_barrier_t bar;
  if (nt < 1 || nt > 256 || pthread_barrier_init(&bar, NULL, (unsigned)nt) != 0) return 0;
  int started = 0;
  for (int i = 0; i < nt; i++) {
    jobs[i] = (peak_job){.k = k, .iters = iters, .cpu = nt > 1 ? i : -1, .bar = &bar};
    if (pthread_create(&tid[i], NULL, peak_thread, &jobs[i]) != 0) break;
    started++;
  }
  if (started < nt) { /* the barrier would never open: cannot happen below 256 threads */
    pthread_barrier_destroy(&bar);
    return 0;
  }
  double t0 = 1e300, t1 = 0, rate = 0;
  double macs = (double)iters * k->steps * k->macs_per_step; /* per thread */
  for (int i = 0; i < nt; i++) {
    pthread_join(tid[i], NULL);
    if (jobs[i].t0 < t0) t0 = jobs[i].t0;
    if (jobs[i].t1 > t1) t1 = jobs[i].t1;
    double c = jobs[i].c1 - jobs[i].c0;
    rate += c > 0 ? macs / c : 0;
  }
  pthread_barrier_destroy(&bar);
  *wall = t1 > t0 ? nt * macs / (t1 - t0) : 0;
  return rate;
}

/* Best of 3 GMAC/s (CPU-time based; *WALL: wall-clock based), with the trip count sized so
   one run lasts about MS milliseconds. */
static double peak_measure(const peak_kernel *k, int nt, double ms, double *wall)
{
  uint64_t iters = 1 << 14;
  for (;;) { /* calibrate on one thread */
    _Alignas(64) unsigned char a[64], b[64], out[PEAK_OUT_BYTES];
    peak_operands(k, a, b);
    double t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    k->fn(iters, a, b, out);
    double dt = clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
    if (dt > ms * 1e-3 / 8 || iters > (1ull << 40)) {
      iters = (uint64_t)((double)iters * (ms * 1e-3) / (dt > 0 ? dt : 1e-9)) + 1;
      break;
    }
    iters *= 4;
  }
  double best = 0;
  *wall = 0;
  for (int r = 0; r < 3; r++) {
    double w, g = peak_rate(k, nt, iters, &w);
    if (g > best) best = g;
    if (w > *wall) *wall = w;
  }
  *wall *= 1e-9;
  return best * 1e-9;
}

#ifndef QC_PEAK_NO_MAIN
static void cpu_name(char *buf, size_t n)
{
  snprintf(buf, n, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    /* x86: "model name"; AArch64 kernels print no name, only "CPU part". */
    if (strncmp(line, "model name", 10) == 0 || strncmp(line, "CPU part", 8) == 0) {
      char *c = strchr(line, ':');
      if (!c) continue;
      c++;
      while (*c == ' ' || *c == '\t') c++;
      c[strcspn(c, "\n")] = 0;
      snprintf(buf, n, "%s", c);
      break;
    }
  }
  fclose(f);
}

static void json_str(const char *s)
{
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') putchar('\\');
    putchar((unsigned char)*s < 0x20 ? ' ' : *s);
  }
  putchar('"');
}

int main(int argc, char **argv)
{
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  int nt = ncpu > 0 ? (int)(ncpu > 256 ? 256 : ncpu) : 1;
  double ms = 200;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      nt = atoi(argv[++i]);
      if (nt < 1 || nt > 256) {
        fprintf(stderr, "peak: --threads must be 1..256\n");
        return 1;
      }
    } else if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc) {
      ms = atof(argv[++i]);
      if (!(ms >= 1 && ms <= 60000)) {
        fprintf(stderr, "peak: --ms must be 1..60000\n");
        return 1;
      }
    } else if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else {
      fprintf(stderr, "usage: peak [--threads N] [--ms T] [--json]\n");
      return 1;
    }
  }
  char cpu[256];
  cpu_name(cpu, sizeof cpu);
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) < 1) load[0] = -1;
  if (json) {
    printf("{\"cpu\": ");
    json_str(cpu);
    printf(", \"cpus\": %ld, \"threads\": %d, \"loadavg\": %.2f, \"kernels\": [", ncpu, nt,
           load[0]);
  } else {
    printf("CPU: %s (%ld online CPUs), load average %.2f\n", cpu, ncpu, load[0]);
    printf("GMAC/s from each thread's CPU time (1T, %dT: sum over threads); %dT wall: total MACs "
           "/ wall time\n", nt, nt);
    printf("%-20s %-11s %-31s %6s %9s %9s %9s\n", "kernel", "isa", "instructions", "MAC/st",
           "1T", "", "");
    char h1[32], h2[32];
    snprintf(h1, sizeof h1, "%dT", nt);
    snprintf(h2, sizeof h2, "%dT wall", nt);
    printf("%-20s %-11s %-31s %6s %9s %9s %9s\n", "", "", "", "", "GMAC/s", h1, h2);
  }
  int first = 1;
  for (int i = 0; i < PEAK_NKERNELS; i++) {
    const peak_kernel *k = &peak_kernels[i];
    if (!k->have()) {
      if (!json) printf("%-20s %-11s %-31s %6s %9s\n", k->name, k->isa, k->instr, "-", "absent");
      continue;
    }
    double w1, wn;
    double g1 = peak_measure(k, 1, ms, &w1);
    double gn = nt > 1 ? peak_measure(k, nt, ms, &wn) : (wn = w1, g1);
    if (json) {
      printf("%s\n  {\"name\": ", first ? "" : ",");
      json_str(k->name);
      printf(", \"isa\": ");
      json_str(k->isa);
      printf(", \"instr\": ");
      json_str(k->instr);
      printf(", \"macs_per_step\": %d, \"gmacs_1t\": %.2f, \"gmacs_nt\": %.2f, "
             "\"gmacs_1t_wall\": %.2f, \"gmacs_nt_wall\": %.2f}",
             k->macs_per_step, g1, gn, w1, wn);
    } else {
      printf("%-20s %-11s %-31s %6d %9.1f %9.1f %9.1f\n", k->name, k->isa, k->instr,
             k->macs_per_step, g1, gn, wn);
    }
    first = 0;
    fflush(stdout);
  }
  if (json) printf("\n]}\n");
  return 0;
}
#endif
