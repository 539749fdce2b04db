/* Tensor, reduction and shape kernels against ONNX's node tests and numpy-computed cases
   (tests/interp/kcases.py), through shape inference the way the interpreter runs them. */
#include "ktest.h"

#define TENSOR_OPS                                                                             \
  "Constant,ConstantOfShape,Shape,Size,Cast,CastLike,Reshape,Flatten,Transpose,Squeeze,"     \
  "Unsqueeze,Concat,Split,Slice,Gather,GatherElements,Pad,Expand,Tile,Range,DepthToSpace,"     \
  "SpaceToDepth,ReduceMean,ReduceMax,ReduceMin,ReduceProd,ReduceL1,ReduceL2,ReduceLogSum,"    \
  "ReduceLogSumExp,ReduceSumSquare,ReduceSum,ArgMax,ArgMin,CumSum,Trilu"

static void test_onnx_node_tests(void)
{
  kt_run_script("kcases.py", "onnx " TENSOR_OPS, "tensor_onnx.cases");
}
static void test_movement(void) { kt_run_script("kcases.py", "gen movement", "tensor_movement.cases"); }
static void test_reduce(void) { kt_run_script("kcases.py", "gen reduce", "tensor_reduce.cases"); }
static void test_cast(void) { kt_run_script("kcases.py", "gen cast", "tensor_cast.cases"); }
static void test_errors(void) { kt_run_script("kcases.py", "gen tensor_errors", "tensor_errors.cases"); }

static CU_TestInfo tests[] = {
    {"ONNX node tests", test_onnx_node_tests},
    {"reshape, transpose, slice, pad, gather, ...", test_movement},
    {"reductions, ArgMax, CumSum", test_reduce},
    {"Cast between all dtypes", test_cast},
    {"error messages", test_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"tensor_cases", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
