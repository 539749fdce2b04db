/* The ops of QC_MORE_OPS (interp/k_more.c) through shape inference and their kernels: ONNX's
   node tests (statically inferred too, with and without data), references from torch and
   torchvision for what those tests miss (tests/interp/more_cases.py), and bad inputs, which
   must give exact messages, never a crash. The conformance runner covers the rest of ONNX's
   tests: Einsum (its equations hold spaces, which the case format cannot carry), RNN/GRU/LSTM
   (they omit output Y) and the training ops (no ai.onnx opset in their models). */
#include "ktest.h"

#define MORE_OPS                                                                               \
  "Resize,Upsample,TopK,OneHot,GatherND,ScatterND,ScatterElements,Scatter,"                    \
  "NegativeLogLikelihoodLoss,SoftmaxCrossEntropyLoss,EyeLike,Compress,NonZero,"                \
  "NonMaxSuppression,RoiAlign,MaxUnpool,ReverseSequence,BitShift,Det,Unique,HannWindow,"       \
  "HammingWindow,BlackmanWindow,MeanVarianceNormalization,GridSample"

static void test_onnx_node_tests(void)
{
  kt_run_script("kcases.py", "onnx " MORE_OPS, "more_onnx.cases");
}
static void test_refs(void) { kt_run_script("more_cases.py", "refs", "more_refs.cases"); }
static void test_errors(void) { kt_run_script("more_cases.py", "errors", "more_errors.cases"); }

static CU_TestInfo tests[] = {
    {"ONNX node tests", test_onnx_node_tests},
    {"against torch and torchvision", test_refs},
    {"error messages", test_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"more_ops", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
