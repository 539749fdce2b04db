/* placeholder so the library has a source until runtime.c lands */
typedef int qcrt_placeholder_unused;
