// segfault (arm64): a store to an address nothing maps. The kernel kills the process with SIGSEGV
// and the run exits with 128 + 11 = 139.
        .text
        .globl  _start
_start: mov     x9, #0x1000
        mov     x10, #42
        str     x10, [x9]
        mov     x0, #0
        mov     x8, #93
        svc     #0
