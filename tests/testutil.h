/* Shared scaffolding for quantc's CUnit executables: one suite table per file. */
#ifndef QC_TESTUTIL_H
#define QC_TESTUTIL_H

#include <CUnit/Basic.h>
#include <stdlib.h>

/* Registers a NULL-terminated CU_SuiteInfo table, runs it verbosely and exits non-zero on any
   failure, so ctest sees the result. */
#define QC_TEST_MAIN(suites)                                                   \
  int main(void)                                                               \
  {                                                                            \
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;                     \
    if (CU_register_suites(suites) != CUE_SUCCESS) {                           \
      CU_cleanup_registry();                                                   \
      return 2;                                                                \
    }                                                                          \
    CU_basic_set_mode(CU_BRM_VERBOSE);                                         \
    CU_basic_run_tests();                                                      \
    /* A suite whose set-up failed ran none of its tests: that is a failure. */ \
    unsigned failed = CU_get_number_of_failures() +                            \
                      CU_get_number_of_tests_failed() +                        \
                      CU_get_number_of_suites_failed();                        \
    CU_cleanup_registry();                                                     \
    return failed ? 1 : 0;                                                     \
  }

#endif
