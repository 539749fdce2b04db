/* Helpers for the tools/ tests: run a program with a timeout and capture its output, run a
   Python snippet, read and write small files. Header-only; each test includes it once. */
#ifndef QC_TOOLS_UTIL_H
#define QC_TOOLS_UTIL_H

#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QC_UNUSED __attribute__((unused))

typedef struct {
  int exit_code;   /* valid when !signaled && !timed_out */
  bool signaled;
  int signo;
  bool timed_out;
  char *out, *err; /* malloc'd, NUL-terminated */
} qc_proc;

QC_UNUSED static char *slurp_fd(int fd)
{
  size_t cap = 4096, n = 0;
  char *s = malloc(cap);
  if (!s) return NULL;
  lseek(fd, 0, SEEK_SET);
  for (;;) {
    if (n + 1 >= cap) {
      char *t = realloc(s, cap *= 2);
      if (!t) break;
      s = t;
    }
    ssize_t r = read(fd, s + n, cap - n - 1);
    if (r <= 0) break;
    n += (size_t)r;
  }
  s[n] = 0;
  return s;
}

/* Runs argv (argv[0] is a path) in folder cwd (NULL: this one) with stdin from /dev/null;
   kills its process group after timeout_s seconds. Returns false if it could not start. */
QC_UNUSED static bool qc_run_proc_in(const char *cwd, char *const argv[], int timeout_s,
                                     qc_proc *p)
{
  memset(p, 0, sizeof *p);
  char out_t[] = "/tmp/qc_out_XXXXXX", err_t[] = "/tmp/qc_err_XXXXXX";
  int fo = mkstemp(out_t), fe = mkstemp(err_t);
  if (fo < 0 || fe < 0) return false;
  unlink(out_t);
  unlink(err_t);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    setpgid(0, 0);
    int fi = open("/dev/null", O_RDONLY);
    dup2(fi, 0);
    dup2(fo, 1);
    dup2(fe, 2);
    if (cwd && chdir(cwd) != 0) _exit(126);
    execv(argv[0], argv);
    _exit(127);
  }
  setpgid(pid, pid);
  int status = 0;
  struct timespec start, now, nap = {0, 5 * 1000 * 1000};
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) break;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec >= timeout_s) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      p->timed_out = true;
      break;
    }
    nanosleep(&nap, NULL);
  }
  if (!p->timed_out) {
    p->signaled = WIFSIGNALED(status);
    p->signo = p->signaled ? WTERMSIG(status) : 0;
    p->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  p->out = slurp_fd(fo);
  p->err = slurp_fd(fe);
  close(fo);
  close(fe);
  return true;
}

QC_UNUSED static bool qc_run_proc(char *const argv[], int timeout_s, qc_proc *p)
{
  return qc_run_proc_in(NULL, argv, timeout_s, p);
}

QC_UNUSED static void qc_proc_free(qc_proc *p)
{
  free(p->out);
  free(p->err);
  p->out = p->err = NULL;
}

/* True when a sanitizer reported something on this stderr. */
QC_UNUSED static bool qc_sanitizer_report(const char *err)
{
  return err && (strstr(err, "AddressSanitizer") || strstr(err, "LeakSanitizer") ||
                 strstr(err, "runtime error") || strstr(err, "UndefinedBehaviorSanitizer"));
}

/* Runs a Python snippet with /usr/bin/python3 in directory dir; returns its exit status. */
QC_UNUSED static int qc_python(const char *dir, const char *code)
{
  char path[512];
  snprintf(path, sizeof path, "%s/snippet_%d.py", dir, (int)getpid());
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs(code, f);
  fclose(f);
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "cd '%.500s' && /usr/bin/python3 '%s'", dir, path);
  int rc = system(cmd);
  unlink(path);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

QC_UNUSED static bool qc_write_file(const char *path, const void *data, size_t n)
{
  FILE *f = fopen(path, "wb");
  if (!f) return false;
  bool ok = fwrite(data, 1, n, f) == n;
  return fclose(f) == 0 && ok;
}

/* A fresh scratch folder under the build tree, named for the test. */
QC_UNUSED static const char *qc_scratch_dir(const char *name)
{
  static char dir[512];
  snprintf(dir, sizeof dir, "%s/tests/scratch_%s", QC_BINARY_DIR, name);
  char cmd[1100];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
  if (system(cmd) != 0) return NULL;
  return dir;
}


/* Runs the quantc binary with the NULL-terminated arguments after timeout_s and checks that it
   neither hung, died of a signal nor drew a sanitizer report. A failure to start leaves
   exit_code -1. */
QC_UNUSED static void qc_run_quantc(qc_proc *p, int timeout_s, ...)
{
  char *argv[64];
  int n = 0;
  argv[n++] = (char *)QC_QUANTC;
  va_list ap;
  va_start(ap, timeout_s);
  for (char *a; n < 63 && (a = va_arg(ap, char *)) != NULL;) argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  if (!qc_run_proc(argv, timeout_s, p)) {
    memset(p, 0, sizeof *p);
    p->exit_code = -1;
    CU_FAIL("cannot start quantc");
    return;
  }
  CU_ASSERT_FALSE(p->timed_out);
  CU_ASSERT_FALSE(p->signaled);
  CU_ASSERT_FALSE(qc_sanitizer_report(p->err));
}

QC_UNUSED static const char *qc_nz(const char *s) { return s ? s : "(null)"; }

/* dir/name in one of 8 rotating buffers, so several may appear in one argument list. */
QC_UNUSED static char *qc_path_in(const char *dir, const char *name)
{
  static char buf[8][600];
  static int k;
  char *b = buf[k++ % 8];
  snprintf(b, sizeof buf[0], "%s/%s", dir, name);
  return b;
}

QC_UNUSED static bool qc_exists(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0;
}

/* Exit code and a fragment of stdout or stderr, printing both streams when either is off. */
#define QC_EXPECT(p, code, stream, frag)                                                  \
  do {                                                                                    \
    CU_ASSERT_EQUAL((p)->exit_code, code);                                                \
    CU_ASSERT_PTR_NOT_NULL((p)->stream ? strstr((p)->stream, frag) : NULL);               \
    if ((p)->exit_code != (code) || !(p)->stream || !strstr((p)->stream, frag))           \
      fprintf(stderr, "\n  %s:%d: exit %d, wanted %d and '%s' in " #stream ";\n"          \
              "  stdout: %.600s\n  stderr: %.600s\n",                                     \
              __FILE__, __LINE__, (p)->exit_code, code, frag, qc_nz((p)->out),            \
              qc_nz((p)->err));                                                           \
  } while (0)

#endif
