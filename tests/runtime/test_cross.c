/* The runtime is portable C11: it builds alone with -std=c11 -Werror on the host and with the
 * AArch64 cross compiler, and the AArch64 build runs the demo model under qemu-aarch64 (1 and
 * 3 threads, dynamic and static loading, and statically linked). Static linking with the blob
 * assembled in (.incbin) is checked on the host too. Skipped (exit 77) without the cross
 * compiler. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quantc_rt.h"
#include "runtime/rt_blob.h"
#include "testutil.h"

#define CROSS_CC "aarch64-linux-gnu-gcc"
#define SYSROOT "/usr/aarch64-linux-gnu"

static char tmpdir[256];

static int have(const char *prog)
{
  char cmd[300];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
  return system(cmd) == 0;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int rc = system(cmd);
  if (rc != 0) fprintf(stderr, "\n  command failed (%d): %s\n", rc, cmd);
  return rc;
}

#define WARN "-std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror"

static void test_host_c11(void)
{
  /* No project-wide defines: the runtime's sources must ask for POSIX themselves. */
  CU_ASSERT_EQUAL(sh("cd %s && cc " WARN " -pedantic -O2 -c %s/runtime/*.c", tmpdir,
                     QC_SOURCE_DIR), 0);
}

static void test_aarch64_compiles(void)
{
  CU_ASSERT_EQUAL(sh("cd %s && " CROSS_CC " " WARN " -O2 -c %s/runtime/*.c", tmpdir,
                     QC_SOURCE_DIR), 0);
}

/* Writes the demo's kernels.c and weights.bin (target tgt) into dir. */
static int write_demo(const char *dir, const char *tgt)
{
  char path[600];
  if (sh("mkdir -p %s", dir)) return -1;
  snprintf(path, sizeof path, "%s/kernels.c", dir);
  if (tb_library_source(path, "qc_model", TB_CODE_HASH)) return -1;
  tb_model tm;
  tb_demo(&tm, "qc_model");
  snprintf(tm.h.target, sizeof tm.h.target, "%s", tgt);
  size_t n;
  uint8_t *b = tb_serialize(&tm, &n);
  snprintf(path, sizeof path, "%s/weights.bin", dir);
  FILE *f = fopen(path, "wb");
  int rc = f && fwrite(b, 1, n, f) == n ? 0 : -1;
  if (f) fclose(f);
  free(b);
  return rc;
}

/* Static linking as docs/runtime.md describes it: model.o + the blob assembled with .incbin
   (rt_blob.S) + the runtime's sources, one executable, no dlopen of the model. */
static int build_static(const char *cc, const char *dir)
{
  return write_demo(dir, "x86-64") ||
         sh("cd %s && %s -std=c11 -O2 -c -I%s/runtime kernels.c -o model.o && %s -c "
            "%s/tests/runtime/rt_blob.S -o blob.o && %s " WARN " -O2 -DRT_STATIC_BLOB -I%s/runtime "
            "-I%s/tests/runtime -o static_driver %s/tests/runtime/rt_driver.c model.o blob.o "
            "%s/runtime/*.c -lpthread -ldl",
            dir, cc, QC_SOURCE_DIR, cc, QC_SOURCE_DIR, cc, QC_SOURCE_DIR, QC_SOURCE_DIR,
            QC_SOURCE_DIR, QC_SOURCE_DIR);
}

static void test_host_static_link(void)
{
  char dir[400];
  snprintf(dir, sizeof dir, "%s/static", tmpdir);
  CU_ASSERT_EQUAL_FATAL(build_static("cc", dir), 0);
  CU_ASSERT_EQUAL(sh("%s/static_driver 1 | grep -qx ok", dir), 0);
  CU_ASSERT_EQUAL(sh("%s/static_driver 4 | grep -qx ok", dir), 0);
}

static void test_aarch64_runs(void)
{
  if (!have("qemu-aarch64")) {
    printf("\n  SKIPPED: qemu-aarch64 is not installed (the AArch64 build was checked)\n");
    fflush(stdout);
    exit(77);
  }
  char dir[400], path[500];
  snprintf(dir, sizeof dir, "%s/art", tmpdir);
  CU_ASSERT_EQUAL_FATAL(write_demo(dir, "aarch64"), 0);
  snprintf(path, sizeof path, "%s/kernels.c", dir);
  CU_ASSERT_EQUAL_FATAL(sh(CROSS_CC " -std=c11 -O2 -shared -fPIC -I%s/runtime -o %s/model.so %s",
                           QC_SOURCE_DIR, dir, path), 0);
  CU_ASSERT_EQUAL_FATAL(sh(CROSS_CC " " WARN " -O2 -D_POSIX_C_SOURCE=200809L -I%s/runtime "
                           "-I%s/tests/runtime -o %s/driver %s/tests/runtime/rt_driver.c "
                           "%s/runtime/*.c -lpthread -ldl",
                           QC_SOURCE_DIR, QC_SOURCE_DIR, tmpdir, QC_SOURCE_DIR, QC_SOURCE_DIR),
                        0);
  for (int threads = 1; threads <= 3; threads += 2)
    CU_ASSERT_EQUAL(sh("qemu-aarch64 -L " SYSROOT " %s/driver %s %d | grep -qx ok", tmpdir, dir,
                       threads), 0);
  snprintf(dir, sizeof dir, "%s/art_static", tmpdir);
  CU_ASSERT_EQUAL_FATAL(build_static(CROSS_CC, dir), 0);
  CU_ASSERT_EQUAL(sh("qemu-aarch64 -L " SYSROOT " %s/static_driver 2 | grep -qx ok", dir), 0);
}

static int suite_init(void)
{
  if (!have(CROSS_CC)) {
    printf("\n  SKIPPED: " CROSS_CC " is not installed\n");
    fflush(stdout);
    exit(77);
  }
  snprintf(tmpdir, sizeof tmpdir, "/tmp/qc_rt_cross_XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

static CU_TestInfo tests[] = {
    {"runtime builds alone with -std=c11 -pedantic", test_host_c11},
    {"runtime builds for AArch64 with -Werror", test_aarch64_compiles},
    {"static link: model.o + .incbin blob + runtime", test_host_static_link},
    {"AArch64 runtime runs the demo under qemu", test_aarch64_runs},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"runtime-cross", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
