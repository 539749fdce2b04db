/* weights.bin as read-only, 64-aligned data between qc_blob and qc_blob_end, for linking an
   artifact statically (assemble in the folder that holds weights.bin; GNU as, any target). */
        .section .rodata.qc_blob,"a"
        .balign 64
        .globl qc_blob
qc_blob:
        .incbin "weights.bin"
        .globl qc_blob_end
qc_blob_end:
        .section .note.GNU-stack,"",%progbits
