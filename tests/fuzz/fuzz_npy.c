/* libFuzzer target: bytes -> NPY reader. A failure needs a status and a message; a success a
   tensor whose every byte is readable (ASan checks the buffer's size). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  qc_tensor t;
  qc_err e = {0};
  qc_status st = qc_npy_read_buffer(data, size, "fuzz.npy", &t, &e);
  if (st != QC_OK && (e.code != st || !e.msg[0])) abort();
  if (st == QC_OK) {
    int64_t bytes = qc_tensor_bytes(&t);
    if (bytes < 0 || !t.data) abort();
    volatile uint8_t sink = 0;
    for (int64_t i = 0; i < bytes; i++) sink ^= ((const uint8_t *)t.data)[i];
    (void)sink;
    free(t.data);
  }
  return 0;
}
