/* Broadcast iteration; see broadcast.h. */
#include "broadcast.h"

void qc_bcast_init(qc_bcast *b, int rank, const int64_t *dims, int n, const int *ranks,
                   const int64_t *const *shapes)
{
  int64_t str[QC_BCAST_MAX][QC_MAX_RANK];
  for (int i = 0; i < n; i++) {
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
      int k = d - (rank - ranks[i]);
      int64_t dim = k >= 0 ? shapes[i][k] : 1;
      str[i][d] = dim == 1 ? 0 : s;
      s *= dim;
    }
  }
  b->n = n;
  b->rank = 0;
  for (int d = 0; d < rank; d++) {
    if (dims[d] == 1) continue;
    int r = b->rank;
    bool merge = r > 0;
    for (int i = 0; i < n && merge; i++) merge = str[i][d] * dims[d] == b->str[i][r - 1];
    if (merge) {
      b->dims[r - 1] *= dims[d];
      for (int i = 0; i < n; i++) b->str[i][r - 1] = str[i][d];
    } else {
      b->dims[r] = dims[d];
      for (int i = 0; i < n; i++) b->str[i][r] = str[i][d];
      b->rank++;
    }
  }
  if (b->rank == 0) {
    b->rank = 1;
    b->dims[0] = 1;
    for (int i = 0; i < n; i++) b->str[i][0] = 0;
  }
  b->inner = b->dims[b->rank - 1];
  b->rows = 1;
  for (int d = 0; d < b->rank - 1; d++) b->rows *= b->dims[d];
}

void qc_bcast_init_tensors(qc_bcast *b, const qc_tensor *out, int n, const qc_tensor *const *ops)
{
  int ranks[QC_BCAST_MAX];
  const int64_t *shapes[QC_BCAST_MAX];
  for (int i = 0; i < n; i++) {
    ranks[i] = ops[i]->rank;
    shapes[i] = ops[i]->dims;
  }
  qc_bcast_init(b, out->rank, out->dims, n, ranks, shapes);
}

void qc_bcast_seek(const qc_bcast *b, qc_bcast_it *it, int64_t row)
{
  for (int i = 0; i < b->n; i++) it->off[i] = 0;
  for (int d = b->rank - 2; d >= 0; d--) {
    it->idx[d] = row % b->dims[d];
    row /= b->dims[d];
    for (int i = 0; i < b->n; i++) it->off[i] += it->idx[d] * b->str[i][d];
  }
}
