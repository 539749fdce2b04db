/* Elementwise kernels against ONNX's node tests and numpy-computed cases (tests/interp/
   kcases.py), through shape inference the way the interpreter runs them. */
#include "ktest.h"

#define EW_OPS                                                                                 \
  "Abs,Neg,Exp,Log,Sqrt,Reciprocal,Floor,Ceil,Round,Sign,Tanh,Sin,Cos,Tan,Asin,Acos,Atan,"    \
  "Sinh,Cosh,Asinh,Acosh,Atanh,Erf,Relu,Sigmoid,Softplus,Softsign,HardSwish,HardSigmoid,"     \
  "LeakyRelu,Elu,Celu,Selu,ThresholdedRelu,Shrink,Not,IsNaN,IsInf,Identity,Clip,Dropout,"     \
  "Add,Sub,Mul,Div,Pow,Mod,PRelu,Max,Min,Sum,Mean,Equal,Less,LessOrEqual,Greater,"            \
  "GreaterOrEqual,And,Or,Xor,Where"

static void test_onnx_node_tests(void) { kt_run_script("kcases.py", "onnx " EW_OPS, "ew_onnx.cases"); }
static void test_broadcast(void) { kt_run_script("kcases.py", "gen broadcast", "ew_broadcast.cases"); }
static void test_integer_math(void) { kt_run_script("kcases.py", "gen intmath", "ew_intmath.cases"); }
static void test_unary(void) { kt_run_script("kcases.py", "gen unary", "ew_unary.cases"); }

static CU_TestInfo tests[] = {
    {"ONNX node tests", test_onnx_node_tests},
    {"broadcasting, dtypes, errors", test_broadcast},
    {"integer Div/Mod/Pow and unary", test_integer_math},
    {"unary math and activations", test_unary},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"elementwise_cases", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
