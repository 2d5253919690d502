# Benchmark guest: a user program for the MultiOS kernel. PAGES (defined by the harness) is the
# number of fresh pages to touch. It maps PAGES+1 anonymous pages, calls getpid (the harness's
# start mark), stores once to each of the first PAGES pages — one demand-zero fault each — calls
# getpid again (the end mark) and exits 0. a7 holds 172 (getpid) only at the two marks.
.text
.globl _start
_start:
    li      a0, 0
    li      a1, (PAGES + 1) * 4096
    li      a2, 3               # PROT_READ | PROT_WRITE
    li      a3, 0x22            # MAP_PRIVATE | MAP_ANONYMOUS
    li      a4, -1
    li      a5, 0
    li      a7, 222             # mmap
    ecall
    mv      s0, a0
    li      a7, 172             # getpid: start mark
    ecall
    li      a7, 0
    li      t0, PAGES
    li      t1, 4096
1:  beqz    t0, 2f
    sd      t0, 0(s0)
    add     s0, s0, t1
    addi    t0, t0, -1
    j       1b
2:  li      a7, 172             # getpid: end mark
    ecall
    li      a0, 0
    li      a7, 93              # exit
    ecall
