/* NPY and IDX readers/writers against files written by NumPy and Python's gzip, and their error
   messages on malformed files. */
#include <math.h>
#include "data.h"
#include "testutil.h"
#include "tools_util.h"

static const char *dir;

static int setup(void)
{
  dir = qc_scratch_dir("data");
  if (!dir) return 1;
  /* Reference files from NumPy: several dtypes, orders, versions and shapes. */
  return qc_python(dir,
                   "import numpy as np, gzip, struct\n"
                   "np.save('f32.npy', np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5)\n"
                   "np.save('i64.npy', np.array([-3, 0, 7, 1 << 40], dtype=np.int64))\n"
                   "np.save('u8s.npy', np.array(200, dtype=np.uint8))\n"
                   "np.save('b.npy', np.array([True, False, True]))\n"
                   "np.save('f64be.npy', np.array([1.5, -2.25], dtype='>f8'))\n"
                   "np.save('f16.npy', np.array([1.0, -0.5], dtype=np.float16))\n"
                   "np.save('empty.npy', np.zeros((0, 3), dtype=np.float32))\n"
                   "with open('v2.npy', 'wb') as f:\n"
                   "    np.lib.format.write_array(f, np.array([[1, 2]], dtype=np.int16), "
                   "version=(2, 0))\n"
                   "np.save('fort.npy', np.asfortranarray(np.ones((2, 3), np.float32)))\n"
                   "np.save('c8.npy', np.ones(2, np.complex64))\n"
                   "img = bytes(range(2 * 3 * 4))\n"
                   "hdr = struct.pack('>IIII', 0x803, 2, 3, 4)\n"
                   "open('img.idx', 'wb').write(hdr + img)\n"
                   "gzip.open('img.idx.gz', 'wb').write(hdr + img)\n"
                   "open('f32.idx', 'wb').write(struct.pack('>II', 0xD01, 3) + "
                   "struct.pack('>fff', 1.0, -2.5, 3.25))\n"
                   "open('trunc.idx', 'wb').write((hdr + img)[:20])\n"
                   "gzip.open('trunc.idx.gz', 'wb').write((hdr + img)[:30])\n"
                   "open('badmagic.idx', 'wb').write(struct.pack('>II', 0x1234, 0))\n"
                   "open('rank0.idx', 'wb').write(struct.pack('>I', 0x800))\n"
                   "open('trail.idx', 'wb').write(hdr + img + b'x')\n"
                   "open('huge.idx', 'wb').write(struct.pack('>IIII', 0x803, 0xffffffff, "
                   "0xffffffff, 16))\n"
                   "g = gzip.compress(hdr + img)\n"
                   "open('corrupt.idx.gz', 'wb').write(g[:12] + bytes(40) + g[52:])\n");
}

static void check_err(qc_status st, const qc_err *e, qc_status want, const char *frag)
{
  CU_ASSERT_EQUAL(st, want);
  CU_ASSERT_EQUAL(e->code, want);
  CU_ASSERT_PTR_NOT_NULL(strstr(e->msg, frag));
  if (!strstr(e->msg, frag)) fprintf(stderr, "\n  message: %s\n  wanted: %s\n", e->msg, frag);
}

static qc_status read_npy(const char *name, qc_tensor *t, qc_err *e)
{
  char p[600];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  qc_err_clear(e);
  return qc_npy_read(p, t, e);
}

static qc_status read_idx(const char *name, qc_tensor *t, qc_err *e)
{
  char p[600];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  qc_err_clear(e);
  return qc_idx_read(p, t, e);
}

static void test_npy_dtypes(void)
{
  qc_tensor t;
  qc_err e;
  CU_ASSERT_EQUAL_FATAL(read_npy("f32.npy", &t, &e), QC_OK);
  CU_ASSERT(t.dtype == QC_DT_F32 && t.rank == 2 && t.dims[0] == 2 && t.dims[1] == 3);
  CU_ASSERT_EQUAL(((float *)t.data)[5], 2.5f);
  free(t.data);
  CU_ASSERT_EQUAL_FATAL(read_npy("i64.npy", &t, &e), QC_OK);
  CU_ASSERT(t.dtype == QC_DT_I64 && t.rank == 1 && t.dims[0] == 4);
  CU_ASSERT_EQUAL(((int64_t *)t.data)[0], -3);
  CU_ASSERT_EQUAL(((int64_t *)t.data)[3], (int64_t)1 << 40);
  free(t.data);
  CU_ASSERT_EQUAL_FATAL(read_npy("u8s.npy", &t, &e), QC_OK);
  CU_ASSERT(t.dtype == QC_DT_U8 && t.rank == 0 && ((uint8_t *)t.data)[0] == 200);
  free(t.data);
  CU_ASSERT_EQUAL_FATAL(read_npy("b.npy", &t, &e), QC_OK);
  CU_ASSERT(t.dtype == QC_DT_BOOL && t.dims[0] == 3 && ((uint8_t *)t.data)[1] == 0);
  free(t.data);
  CU_ASSERT_EQUAL_FATAL(read_npy("f64be.npy", &t, &e), QC_OK);
  CU_ASSERT(t.dtype == QC_DT_F64 && ((double *)t.data)[1] == -2.25);
  free(t.data);
  CU_ASSERT_EQUAL_FATAL(read_npy("f16.npy", &t, &e), QC_OK);
  CU_ASSERT(t.dtype == QC_DT_F16 && ((uint16_t *)t.data)[1] == 0xB800); /* -0.5 in binary16 */
  free(t.data);
  CU_ASSERT_EQUAL_FATAL(read_npy("empty.npy", &t, &e), QC_OK);
  CU_ASSERT(t.rank == 2 && t.dims[0] == 0 && t.dims[1] == 3 && t.data != NULL);
  free(t.data);
  CU_ASSERT_EQUAL_FATAL(read_npy("v2.npy", &t, &e), QC_OK);
  CU_ASSERT(t.dtype == QC_DT_I16 && t.dims[1] == 2 && ((int16_t *)t.data)[1] == 2);
  free(t.data);
}

static void test_npy_errors(void)
{
  qc_tensor t;
  qc_err e;
  check_err(read_npy("fort.npy", &t, &e), &e, QC_ERR_UNSUPPORTED,
            "fortran_order NPY arrays are not supported (byte 44)");
  check_err(read_npy("c8.npy", &t, &e), &e, QC_ERR_UNSUPPORTED,
            "NPY dtype '<c8' is not supported");
  check_err(read_npy("nope.npy", &t, &e), &e, QC_ERR_IO, "nope.npy: cannot open: No such file");
  check_err(read_npy(".", &t, &e), &e, QC_ERR_IO, "is a directory, not a file");
  CU_ASSERT_PTR_NULL(t.data);

  /* In-memory corruptions of a valid file. */
  char p[600];
  snprintf(p, sizeof p, "%s/f32.npy", dir);
  FILE *f = fopen(p, "rb");
  unsigned char good[256];
  size_t n = fread(good, 1, sizeof good, f);
  fclose(f);
  CU_ASSERT_EQUAL_FATAL(n, 128 + 24);
  unsigned char bad[256];
  memcpy(bad, good, n);
  bad[1] = 'X';
  qc_err_clear(&e);
  check_err(qc_npy_read_buffer(bad, n, "m", &t, &e), &e, QC_ERR_FORMAT,
            "m: bad NPY magic at byte 0");
  qc_err_clear(&e);
  check_err(qc_npy_read_buffer(good, n - 5, "m", &t, &e), &e, QC_ERR_FORMAT,
            "m: truncated NPY data: 24 bytes expected from byte 128, file has 19");
  qc_err_clear(&e);
  check_err(qc_npy_read_buffer(good, 50, "m", &t, &e), &e, QC_ERR_FORMAT,
            "m: truncated NPY header: 118 header bytes declared at byte 8, file ends at byte 50");
  qc_err_clear(&e);
  check_err(qc_npy_read_buffer(good, 0, "m", &t, &e), &e, QC_ERR_FORMAT, "m: empty file");
  memcpy(bad, good, n);
  bad[8] = 0xff, bad[9] = 0xff;
  qc_err_clear(&e);
  check_err(qc_npy_read_buffer(bad, n, "m", &t, &e), &e, QC_ERR_FORMAT,
            "m: NPY header length 65535 at byte 8 exceeds the limit of 10000 bytes");
  memcpy(bad, good, n);
  memcpy(bad + 10, "{'descx'", 8);
  qc_err_clear(&e);
  check_err(qc_npy_read_buffer(bad, n, "m", &t, &e), &e, QC_ERR_FORMAT,
            "m: malformed NPY header at byte 11: unknown or repeated key");
  memcpy(bad, good, n);
  char *sh = strstr((char *)bad + 10, "(2, 3)");
  CU_ASSERT_PTR_NOT_NULL_FATAL(sh);
  memcpy(sh, "(2,-3)", 6);
  qc_err_clear(&e);
  check_err(qc_npy_read_buffer(bad, n, "m", &t, &e), &e, QC_ERR_FORMAT,
            "expected a non-negative integer dimension");
  memcpy(sh, "(9, 9)", 6);
  qc_err_clear(&e);
  check_err(qc_npy_read_buffer(bad, n, "m", &t, &e), &e, QC_ERR_FORMAT,
            "m: truncated NPY data: 324 bytes expected from byte 128, file has 24");
  memcpy(bad, good, n);
  bad[n] = 0;
  qc_err_clear(&e);
  check_err(qc_npy_read_buffer(bad, n + 1, "m", &t, &e), &e, QC_ERR_FORMAT,
            "m: 1 trailing bytes after the NPY data at byte 152");
}

static void test_npy_write_roundtrip(void)
{
  float v[6] = {1, -2, 3.5f, 0, 1e-3f, -7};
  qc_tensor t = {QC_DT_F32, 2, {3, 2}, v};
  qc_err e = {0};
  char p[600];
  snprintf(p, sizeof p, "%s/out.npy", dir);
  CU_ASSERT_EQUAL_FATAL(qc_npy_write(p, &t, &e), QC_OK);
  int64_t iv[3] = {5, -6, 1LL << 50};
  qc_tensor ti = {QC_DT_I64, 1, {3}, iv};
  snprintf(p, sizeof p, "%s/out1.npy", dir);
  CU_ASSERT_EQUAL_FATAL(qc_npy_write(p, &ti, &e), QC_OK);
  uint8_t s = 9;
  qc_tensor ts = {QC_DT_U8, 0, {0}, &s};
  snprintf(p, sizeof p, "%s/out0.npy", dir);
  CU_ASSERT_EQUAL_FATAL(qc_npy_write(p, &ts, &e), QC_OK);
  CU_ASSERT_EQUAL(qc_python(dir, "import numpy as np\n"
                                 "a = np.load('out.npy'); b = np.load('out1.npy')\n"
                                 "c = np.load('out0.npy')\n"
                                 "assert a.dtype == np.float32 and a.shape == (3, 2)\n"
                                 "assert a.tolist() == [[1, -2], [3.5, 0], "
                                 "[np.float32(1e-3), -7]]\n"
                                 "assert b.dtype == np.int64 and b.tolist() == [5, -6, 1 << 50]\n"
                                 "assert c.shape == () and c.dtype == np.uint8 and c == 9\n"
                                 "assert open('out.npy','rb').read(10)[8] + 10 == 128\n"),
                  0);
  /* And our reader agrees with our writer. */
  qc_tensor r;
  CU_ASSERT_EQUAL_FATAL(read_npy("out.npy", &r, &e), QC_OK);
  CU_ASSERT(r.rank == 2 && memcmp(r.data, v, sizeof v) == 0);
  free(r.data);
  qc_tensor packed = {QC_DT_I4, 1, {2}, v};
  check_err(qc_npy_write(p, &packed, &e), &e, QC_ERR_UNSUPPORTED, "dtype i4 has no NPY equivalent");
}

static void test_idx(void)
{
  qc_tensor t;
  qc_err e;
  const char *names[] = {"img.idx", "img.idx.gz"};
  for (int k = 0; k < 2; k++) {
    CU_ASSERT_EQUAL_FATAL(read_idx(names[k], &t, &e), QC_OK);
    CU_ASSERT(t.dtype == QC_DT_U8 && t.rank == 3 && t.dims[0] == 2 && t.dims[1] == 3 &&
              t.dims[2] == 4);
    CU_ASSERT_EQUAL(((uint8_t *)t.data)[23], 23);
    free(t.data);
  }
  CU_ASSERT_EQUAL_FATAL(read_idx("f32.idx", &t, &e), QC_OK);
  CU_ASSERT(t.dtype == QC_DT_F32 && t.dims[0] == 3 && ((float *)t.data)[1] == -2.5f);
  free(t.data);

  check_err(read_idx("trunc.idx", &t, &e), &e, QC_ERR_FORMAT,
            "truncated IDX data: 24 bytes expected from byte 16, file ends at byte 20");
  check_err(read_idx("trunc.idx.gz", &t, &e), &e, QC_ERR_FORMAT,
            "truncated IDX data: 24 bytes expected from byte 16, file ends at byte 30");
  check_err(read_idx("badmagic.idx", &t, &e), &e, QC_ERR_FORMAT,
            "bad IDX magic 0x00001234 at byte 0");
  check_err(read_idx("rank0.idx", &t, &e), &e, QC_ERR_FORMAT, "IDX rank 0 at byte 3 is outside 1..8");
  check_err(read_idx("trail.idx", &t, &e), &e, QC_ERR_FORMAT,
            "trailing bytes after the IDX data at byte 40");
  check_err(read_idx("huge.idx", &t, &e), &e, QC_ERR_FORMAT,
            "IDX dims (header bytes 4..15) exceed the limit of 68719476736 elements");
  check_err(read_idx("corrupt.idx.gz", &t, &e), &e, QC_ERR_FORMAT, "corrupt gzip stream");
  check_err(read_idx("missing.idx", &t, &e), &e, QC_ERR_IO, "cannot open: No such file");
  CU_ASSERT_PTR_NULL(t.data);
}

static void test_idx_write(void)
{
  int16_t v[4] = {1, -2, 300, -32768};
  qc_tensor t = {QC_DT_I16, 2, {2, 2}, v};
  qc_err e = {0};
  char p[600];
  snprintf(p, sizeof p, "%s/w.idx.gz", dir);
  CU_ASSERT_EQUAL_FATAL(qc_idx_write(p, &t, true, &e), QC_OK);
  snprintf(p, sizeof p, "%s/w.idx", dir);
  CU_ASSERT_EQUAL_FATAL(qc_idx_write(p, &t, false, &e), QC_OK);
  CU_ASSERT_EQUAL(qc_python(dir, "import gzip, struct\n"
                                 "want = struct.pack('>IIIhhhh', 0xB02, 2, 2, 1, -2, 300, -32768)\n"
                                 "assert gzip.open('w.idx.gz').read() == want\n"
                                 "assert open('w.idx', 'rb').read() == want\n"),
                  0);
  qc_tensor r;
  CU_ASSERT_EQUAL_FATAL(read_idx("w.idx.gz", &r, &e), QC_OK);
  CU_ASSERT(r.dtype == QC_DT_I16 && memcmp(r.data, v, sizeof v) == 0);
  free(r.data);
}

static CU_TestInfo tests[] = {
    {"npy: dtypes, versions, byte orders, empty", test_npy_dtypes},
    {"npy: errors by exact message", test_npy_errors},
    {"npy: write, read back by NumPy", test_npy_write_roundtrip},
    {"idx: raw, gzip, errors", test_idx},
    {"idx: write, read back by Python", test_idx_write},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"data", setup, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
