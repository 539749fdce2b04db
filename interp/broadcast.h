/* Walking numpy-broadcast operands: the output is visited in rows of its innermost collapsed
   dim, and each operand's element offset at the start of a row comes from an odometer. Along a
   row an operand either advances by one element or stays put (it is broadcast there).
   Private to interp/. */
#ifndef QC_BROADCAST_H
#define QC_BROADCAST_H

#include "ir.h"

#define QC_BCAST_MAX 4 /* operands */

typedef struct {
  int rank; /* collapsed rank, >= 1 */
  int n;    /* operands */
  int64_t dims[QC_MAX_RANK];
  int64_t str[QC_BCAST_MAX][QC_MAX_RANK]; /* element strides, 0 along broadcast dims */
  int64_t inner; /* elements per row: dims[rank - 1] */
  int64_t rows;  /* product of the other dims */
} qc_bcast;

typedef struct {
  int64_t idx[QC_MAX_RANK];
  int64_t off[QC_BCAST_MAX];
} qc_bcast_it;

/* Iteration of an output of shape (rank, dims) over n operands of shapes (ranks[i], shapes[i]),
   right-aligned; each operand dim is 1 or the output's (shape inference checked it). Size-1
   dims are dropped and dims that every operand walks the same way are merged, so a bias add
   over [N, C, H, W] becomes rows of H*W with the bias fixed along each row. */
void qc_bcast_init(qc_bcast *b, int rank, const int64_t *dims, int n, const int *ranks,
                   const int64_t *const *shapes);
/* Same, from tensors. */
void qc_bcast_init_tensors(qc_bcast *b, const qc_tensor *out, int n, const qc_tensor *const *ops);

static inline int64_t qc_bcast_inner_stride(const qc_bcast *b, int i)
{
  return b->str[i][b->rank - 1];
}

void qc_bcast_seek(const qc_bcast *b, qc_bcast_it *it, int64_t row);

static inline void qc_bcast_next(const qc_bcast *b, qc_bcast_it *it)
{
  for (int d = b->rank - 2; d >= 0; d--) {
    if (++it->idx[d] < b->dims[d]) {
      for (int i = 0; i < b->n; i++) it->off[i] += b->str[i][d];
      return;
    }
    it->idx[d] = 0;
    for (int i = 0; i < b->n; i++) it->off[i] -= b->str[i][d] * (b->dims[d] - 1);
  }
}

#endif
