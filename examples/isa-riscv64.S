# RV64IMAC integer instruction tour: a bare-metal M-mode program for riscv64-virt whose every
# architectural register state is compared, instruction by instruction, with QEMU's
# (test/reference/lockstep-riscv64.test.ts). It prints nothing and checks nothing itself: the
# lockstep is the check. Results are left in registers, where the comparison sees them.
#
# Rules that keep the two machines comparable:
#   - no trap is taken (no ecall/ebreak, no misaligned atomics, only existing CSRs);
#   - nothing timing-dependent is read (no time/cycle/instret/mip);
#   - mepc is only written with bit 0 clear: mepc[0] is always zero (RV-P §3.1.14), but QEMU 7.2
#     stores and returns it as written;
#   - the program never stores into a page that holds code.
# Compressed encodings are written as ordinary instructions; the assembler picks the RVC form
# exactly where GNU as does (operands in x8-x15, small immediates, rd == rs1, ...).
# Ends by writing 0x5555 (pass) to the SiFive test finisher.

.equ FINISHER, 0x100000

.text
.globl _start
_start:
    la      gp, data
    la      sp, stack_top

# ---- LUI and AUIPC ------------------------------------------------------------------------------
    lui     a0, 0x80000             # 0xffff_ffff_8000_0000: bit 31 sign-extends
    lui     a1, 0x7ffff
    lui     a2, 0xfffff
    lui     a3, 1                   # c.lui
    lui     a4, 0xfffe0             # c.lui, negative
    auipc   a5, 0
    auipc   a6, 0x80000             # pc - 2 GiB: wraps below 0
    auipc   a7, 0x7ffff
    auipc   t0, 0xfffff

# ---- edge operands used below -------------------------------------------------------------------
    li      s0, 0x7fffffff
    li      s1, -1
    li      s2, 0x80000000
    li      s3, 0x8000000000000000
    li      s4, 0x7fffffffffffffff
    li      s5, 0xffffffff
    li      s6, 0x123456789abcdef0
    li      s7, 0xfedcba9876543210
    li      s8, 0xffffffff80000000
    li      s9, 0x100000000

# ---- immediate ALU: carries across bit 31 and bit 32 --------------------------------------------
    addi    a0, s0, 1               # 0x8000_0000
    addiw   a1, s0, 1               # 32-bit overflow: 0xffff_ffff_8000_0000
    addi    a2, s5, 1               # carry into bit 32
    addiw   a3, s5, 1               # 0
    addi    a4, s4, 1               # 64-bit overflow to the minimum
    addi    a5, s3, -1
    addiw   a6, s2, -1              # 0x7fff_ffff
    addiw   a7, s9, -1              # upper bits ignored: -1
    addi    t0, zero, -2048
    addi    t1, zero, 2047
    addiw   t2, s6, 2047
    addiw   t3, s6, 0               # sext.w
    sext.w  t4, s7
    slti    t5, s1, 0
    slti    t6, s3, -2048
    slti    a0, s4, 2047
    slti    a1, zero, 0
    sltiu   a2, s1, -1              # -1 < 0xffff...: false
    sltiu   a3, s5, -1
    sltiu   a4, zero, 1             # seqz
    seqz    a5, s9
    sltiu   a6, s3, 2047
    xori    a7, s6, -1              # not
    xori    t0, s7, 0x7ff
    xori    t1, s2, -2048
    ori     t2, s2, -1
    ori     t3, zero, 0x555
    ori     t4, s8, 0x7ff
    andi    t5, s6, -1
    andi    t6, s7, 0x7f0
    andi    a0, s1, -2048

# ---- immediate shifts: 0, 1, 31, 32, 63 ---------------------------------------------------------
    slli    a0, s6, 0
    slli    a1, s6, 1
    slli    a2, s6, 31
    slli    a3, s6, 32
    slli    a4, s6, 63
    srli    a5, s7, 0
    srli    a6, s7, 1
    srli    a7, s7, 31
    srli    t0, s7, 32
    srli    t1, s7, 63
    srai    t2, s7, 0
    srai    t3, s7, 1
    srai    t4, s7, 31
    srai    t5, s7, 32
    srai    t6, s7, 63
    slliw   a0, s6, 0
    slliw   a1, s6, 1
    slliw   a2, s0, 1               # into bit 31: sign-extends
    slliw   a3, s6, 31
    srliw   a4, s8, 0
    srliw   a5, s8, 1
    srliw   a6, s8, 31
    srliw   a7, s7, 4               # upper word ignored
    sraiw   t0, s8, 0
    sraiw   t1, s8, 1
    sraiw   t2, s8, 31
    sraiw   t3, s0, 31

# ---- register ALU --------------------------------------------------------------------------------
    add     a0, s0, s0              # 0xffff_fffe, no sign extension
    add     a1, s5, s5
    add     a2, s4, s4
    add     a3, s3, s3              # wraps to 0
    sub     a4, zero, s3            # -MIN == MIN
    sub     a5, s9, s5              # borrow across bit 32
    sub     a6, s2, s0
    addw    a7, s0, s0              # 0xffff_ffff_ffff_fffe
    addw    t0, s9, s5              # upper words ignored
    addw    t1, s2, s2              # 0
    subw    t2, s2, s0              # 1
    subw    t3, zero, s2            # -MIN32 == MIN32
    subw    t4, s0, s1              # 0x8000_0000: sign-extends
    slt     t5, s3, s4
    slt     t6, s4, s3
    slt     a0, s1, zero
    slt     a1, s1, s1
    sltu    a2, s3, s4
    sltu    a3, zero, s1            # snez
    snez    a4, s9
    sltu    a5, s1, s1
    xor     a6, s6, s7
    or      a7, s6, s7
    and     t0, s6, s7
    xor     t1, s3, s1
    or      t2, s2, s8
    and     t3, s5, s8
    neg     t4, s6
    negw    t5, s6
    not     t6, s7
    add     zero, s6, s7            # x0 stays 0

# ---- register shifts: rs2 supplies 6 bits (5 for W forms) ----------------------------------------
    li      t0, 0
    li      t1, 1
    li      t2, 31
    li      t3, 32
    li      t4, 63
    li      t5, 64                  # shifts by 0
    li      t6, -1                  # shifts by 63 (31 for W)
    sll     a0, s6, t0
    sll     a1, s6, t1
    sll     a2, s6, t2
    sll     a3, s6, t3
    sll     a4, s6, t4
    sll     a5, s6, t5
    sll     a6, s6, t6
    srl     a7, s7, t1
    srl     a0, s7, t2
    srl     a1, s7, t3
    srl     a2, s7, t4
    srl     a3, s7, t5
    srl     a4, s7, t6
    sra     a5, s7, t0
    sra     a6, s7, t1
    sra     a7, s7, t2
    sra     a0, s7, t3
    sra     a1, s7, t4
    sra     a2, s7, t6
    sra     a3, s4, t4
    sllw    a4, s6, t0
    sllw    a5, s6, t1
    sllw    a6, s6, t2
    sllw    a7, s6, t3              # by 0
    sllw    a0, s6, t6              # by 31
    srlw    a1, s8, t0              # by 0: still sign-extends bit 31
    srlw    a2, s8, t1
    srlw    a3, s8, t2
    srlw    a4, s8, t3
    srlw    a5, s7, t6
    sraw    a6, s8, t0
    sraw    a7, s8, t1
    sraw    a0, s8, t2
    sraw    a1, s0, t4              # by 31
    sraw    a2, s6, t3              # by 0

# ---- loads of every width, sign- and zero-extending, aligned and not -----------------------------
    la      s10, ld_bytes
    lb      a0, 0(s10)              # 0x80
    lbu     a1, 0(s10)
    lb      a2, 1(s10)              # 0x7f
    lbu     a3, 2(s10)              # 0xff
    lh      a4, 4(s10)              # 0x8000
    lhu     a5, 4(s10)
    lh      a6, 6(s10)              # 0x7fff
    lw      a7, 8(s10)              # 0x8000_0000
    lwu     t0, 8(s10)
    lw      t1, 12(s10)             # 0x7fff_ffff
    lwu     t2, 16(s10)
    ld      t3, 16(s10)
    ld      t4, 24(s10)
    lh      t5, 3(s10)              # misaligned halfword
    lhu     t6, 5(s10)
    lw      a0, 1(s10)              # misaligned words
    lw      a1, 6(s10)
    lwu     a2, 7(s10)
    ld      a3, 1(s10)              # misaligned doublewords
    ld      a4, 4(s10)
    ld      a5, 7(s10)
    lw      a6, -8(s10)             # negative offset
    ld      a7, -8(s10)
    lw      zero, 0(s10)            # load to x0: discarded
    lw      s11, 8(s10)
    ld      s11, 16(s10)

# ---- stores of every width, aligned and not, read back -------------------------------------------
    la      s10, scratch
    sd      s6, 0(s10)
    sw      s7, 8(s10)
    sh      s7, 12(s10)
    sb      s7, 14(s10)
    sb      s1, 15(s10)
    ld      a0, 0(s10)
    ld      a1, 8(s10)
    sh      s6, 17(s10)             # misaligned stores
    sw      s7, 19(s10)
    sd      s6, 25(s10)
    sw      s1, 35(s10)
    sd      s7, 37(s10)
    ld      a2, 16(s10)
    ld      a3, 24(s10)
    ld      a4, 32(s10)
    ld      a5, 40(s10)
    lw      a6, 19(s10)
    ld      a7, 25(s10)
    lhu     t0, 17(s10)
    sd      zero, 0(s10)            # store x0
    ld      t1, 0(s10)

# ---- accesses that straddle a page boundary ------------------------------------------------------
    la      s10, page2
    sd      s6, -3(s10)
    sw      s7, -2(s10)
    sh      s7, 7(s10)
    ld      a0, -3(s10)
    ld      a1, -8(s10)
    lw      a2, -1(s10)
    lhu     a3, -1(s10)
    lh      a4, -1(s10)
    ld      a5, 0(s10)
    lwu     a6, -2(s10)

# ---- M extension ---------------------------------------------------------------------------------
    li      a0, 7
    li      a1, -7
    li      a2, 2
    li      a3, -2
    mul     t0, s6, s7
    mulh    t1, s6, s7
    mulhsu  t2, s6, s7
    mulhu   t3, s6, s7
    mul     t4, s3, s1              # MIN * -1 wraps to MIN
    mulh    t5, s3, s1              # 0
    mulh    t6, s3, s3              # 2^62
    mulhsu  a4, s1, s1              # -1 * (2^64 - 1): high word -1
    mulhsu  a5, s3, s1
    mulhsu  a6, s4, s1
    mulhu   a7, s1, s1
    mulhu   s11, s3, s4
    mulh    t0, s4, s4
    mulh    t1, s1, s1              # 0
    mul     t2, s5, s5              # crosses bit 32
    mulw    t3, s2, s2              # low word 0
    mulw    t4, s0, s0              # 1
    mulw    t5, s6, s7
    mulw    t6, s5, a0              # -7 (upper words ignored)
    div     a4, a0, a2              # 3
    div     a5, a1, a2              # -3: rounds towards zero
    div     a6, a0, a3              # -3
    div     a7, a1, a3              # 3
    div     t0, s3, s1              # MIN / -1 = MIN
    div     t1, a0, zero            # by zero: -1
    div     t2, s3, zero
    divu    t3, a1, a2
    divu    t4, a0, zero            # by zero: 2^64 - 1
    divu    t5, s1, s4
    divu    t6, s3, s1
    rem     a4, a0, a2              # 1
    rem     a5, a1, a2              # -1: sign of the dividend
    rem     a6, a0, a3              # 1
    rem     a7, a1, a3              # -1
    rem     t0, s3, s1              # MIN % -1 = 0
    rem     t1, a1, zero            # by zero: the dividend
    remu    t2, a1, a2
    remu    t3, a1, zero            # by zero: the dividend
    remu    t4, s1, s4
    remu    t5, s6, s7
    rem     t6, s6, s7
    divw    a4, a1, a2
    divw    a5, s2, s1              # MIN32 / -1 = MIN32, sign-extended
    divw    a6, a0, zero            # -1
    divw    a7, s9, a2              # low word 0
    divw    t0, s6, a3              # upper word ignored
    divuw   t1, a1, a2              # 0xffff_fff9 / 2 = 0x7fff_fffc
    divuw   t2, a0, zero            # 0xffff_ffff sign-extended: -1
    divuw   t3, s8, a2              # 0x4000_0000
    divuw   t4, s1, s0              # 2
    remw    t5, s2, s1              # 0
    remw    t6, a1, a2              # -1
    remw    a4, a1, zero            # -7
    remw    a5, s6, zero            # the low word, sign-extended
    remuw   a6, a1, a2              # 1
    remuw   a7, a1, zero            # 0xffff_fff9 sign-extended
    remuw   t0, s6, a2
    remuw   t1, s8, zero            # 0x8000_0000 sign-extended
    div     zero, s6, s7            # result to x0: discarded

# ---- A extension: LR/SC ---------------------------------------------------------------------------
    la      s10, amo_w
    la      s11, amo_d
    lr.w    a0, (s10)               # reservation
    sc.w    a1, s2, (s10)           # succeeds: 0
    lw      a2, 0(s10)              # 0x8000_0000 stored
    sc.w    a3, s0, (s10)           # reservation consumed: fails, 1
    lw      a4, 0(s10)              # unchanged
    lr.d    a5, (s11)
    sc.d    a6, s6, (s11)
    ld      a7, 0(s11)
    sc.d    t0, s7, (s11)           # fails
    ld      t1, 0(s11)
    lr.w.aq a0, (s10)
    sc.w.rl a1, s1, (s10)
    lr.d.aqrl a2, (s11)
    sc.d.aqrl a3, s4, (s11)
    ld      a4, 0(s11)
    lr.d    a5, (s11)
    sc.d    zero, s3, (s11)         # result to x0
    ld      a6, 0(s11)

# ---- A extension: every AMO, .w and .d ------------------------------------------------------------
    sw      s0, 0(s10)              # 0x7fff_ffff
    amoadd.w   a0, s0, (s10)        # memory 0xffff_fffe; a0 the old value
    lw      a1, 0(s10)
    amoadd.w   a2, s6, (s10)        # uses the low word of rs2
    amoswap.w  a3, s2, (s10)        # old value sign-extends
    amoswap.w  a4, s1, (s10)
    amoxor.w   a5, s2, (s10)        # 0x7fff_ffff
    amoor.w    a6, s2, (s10)        # 0xffff_ffff
    amoand.w   a7, s6, (s10)
    lw      t0, 0(s10)
    amomin.w   t1, s2, (s10)        # signed: min(0x9abc_def0, MIN32) = MIN32
    amomax.w   t2, s0, (s10)        # MAX32
    amominu.w  t3, s2, (s10)        # 0x7fff_ffff < 0x8000_0000
    amomaxu.w  t4, s8, (s10)        # low word 0x8000_0000 is larger unsigned
    lw      t5, 0(s10)
    amomin.w   t6, s9, (s10)        # low word 0: min(MIN32, 0) = MIN32
    amominu.w  a0, s9, (s10)        # 0
    amomax.w   a1, s1, (s10)        # signed: max(0, -1) = 0 stays
    amomaxu.w  a2, s0, (s10)        # 0x7fff_ffff
    amoadd.w   zero, s5, (s10)      # result to x0: memory still updated
    lw      a3, 0(s10)
    amoadd.w.aqrl a4, s0, (s10)
    lw      a5, 0(s10)

    sd      s4, 0(s11)              # MAX
    amoadd.d   a0, s1, (s11)        # MAX - 1
    amoadd.d   a1, s5, (s11)        # carry across bit 32
    amoadd.d   a2, s3, (s11)        # wraps
    amoswap.d  a3, s3, (s11)
    amoxor.d   a4, s6, (s11)
    amoor.d    a5, s7, (s11)
    amoand.d   a6, s6, (s11)
    ld      a7, 0(s11)
    amomin.d   t0, s4, (s11)        # signed
    amomax.d   t1, s3, (s11)
    amominu.d  t2, s9, (s11)
    amomaxu.d  t3, s1, (s11)        # 2^64 - 1
    ld      t4, 0(s11)
    amomin.d   t5, s3, (s11)        # MIN
    amomax.d   t6, s4, (s11)        # MAX
    amominu.d  a0, s3, (s11)        # unsigned, MAX < MIN: MAX stays
    amomaxu.d  a1, s3, (s11)        # MIN
    amoswap.d.aq a2, s6, (s11)
    amoand.d.rl  a3, s2, (s11)
    amoxor.d.aqrl zero, s1, (s11)
    ld      a4, 0(s11)

# ---- compressed forms ------------------------------------------------------------------------------
    mv      a0, s6                  # c.mv
    mv      a1, s7
    add     a0, a0, a1              # c.add
    addi    a2, sp, 16              # c.addi4spn
    addi    sp, sp, -64             # c.addi16sp
    addi    sp, sp, 64
    addi    a0, a0, -32             # c.addi
    addi    a0, a0, 31
    nop                             # c.nop
    addiw   a1, a1, -1              # c.addiw
    addiw   a2, a2, 0               # c.addiw, imm 0 (sext.w)
    li      a3, -32                 # c.li
    li      a4, 31
    li      s11, 0                  # c.li, 0
    srli    a0, a0, 63              # c.srli
    srli    a1, a1, 1
    srai    a3, a3, 32              # c.srai
    srai    a1, a1, 1
    andi    a4, a4, -32             # c.andi
    andi    a1, a1, 31
    slli    a5, a0, 0               # not compressible: rd != rs1
    slli    a0, a0, 63              # c.slli
    slli    s7, s7, 32
    mv      a1, s6
    mv      a2, s7
    sub     a1, a1, a2              # c.sub
    xor     a2, a2, a1              # c.xor
    or      a3, a3, a2              # c.or
    and     a4, a4, a3              # c.and
    subw    a1, a1, a2              # c.subw
    addw    a2, a2, a3              # c.addw
    subw    s0, s0, s1              # c.subw: MAX32 - (-1) overflows
    addw    s1, s1, s1
    sd      a0, 8(sp)               # c.sdsp
    sw      a1, 16(sp)              # c.swsp
    sd      a2, 504(sp)             # c.sdsp, largest offset
    sw      a3, 252(sp)             # c.swsp, largest offset
    ld      a5, 8(sp)               # c.ldsp
    lw      a6, 16(sp)              # c.lwsp
    ld      a7, 504(sp)
    lw      t0, 252(sp)
    lw      t1, 16(sp)
    lui     t2, 0x1f                # c.lui, largest positive
    la      s1, scratch
    sw      a1, 124(s1)             # c.sw, largest offset
    lw      a3, 124(s1)             # c.lw
    sd      a2, 248(s1)             # c.sd, largest offset
    ld      a4, 248(s1)             # c.ld
    sw      a2, 0(s1)               # c.sw
    lw      a5, 0(s1)               # c.lw
    sd      a3, 8(s1)               # c.sd
    ld      s0, 8(s1)               # c.ld
    lw      t3, 124(s1)             # not compressible: rd is not x8-x15
    addi    s0, sp, 1020            # c.addi4spn, largest offset
    addi    sp, sp, 496             # c.addi16sp, largest
    addi    sp, sp, -512            # c.addi16sp, smallest
    addi    sp, sp, 16

# ---- branches: taken and not taken, forwards and backwards ----------------------------------------
    li      a0, -1
    li      a1, 1
    li      a2, -1
    li      s11, 0                  # counts wrong paths (must stay 0)
    beq     a0, a2, 1f              # taken forwards
    addi    s11, s11, 1
1:  beq     a0, a1, 1f              # not taken forwards
    addi    s10, zero, 1
1:  bne     a0, a1, 1f
    addi    s11, s11, 1
1:  bne     a0, a2, 1f
    addi    s10, zero, 2
1:  blt     a0, a1, 1f              # -1 < 1 signed
    addi    s11, s11, 1
1:  blt     a1, a0, 1f
    addi    s10, zero, 3
1:  blt     a0, a2, 1f              # equal: not taken
    addi    s10, zero, 4
1:  bge     a1, a0, 1f
    addi    s11, s11, 1
1:  bge     a0, a2, 1f              # equal: taken
    addi    s11, s11, 1
1:  bge     a0, a1, 1f
    addi    s10, zero, 5
1:  bltu    a1, a0, 1f              # 1 < 2^64 - 1 unsigned
    addi    s11, s11, 1
1:  bltu    a0, a1, 1f
    addi    s10, zero, 6
1:  bltu    s3, s4, 1f              # MIN > MAX unsigned
    addi    s10, zero, 7
1:  bgeu    a0, a1, 1f
    addi    s11, s11, 1
1:  bgeu    a1, a0, 1f
    addi    s10, zero, 8
1:  bgeu    a0, a2, 1f              # equal: taken
    addi    s11, s11, 1
1:  beqz    a0, 1f                  # c.beqz, not taken
    addi    s10, zero, 9
1:  bnez    a0, 1f                  # c.bnez, taken
    addi    s11, s11, 1
1:  beqz    zero, 1f                # beq x0: not compressible
    addi    s11, s11, 1
1:  bltz    a0, 1f
    addi    s11, s11, 1
1:  bgez    a0, 1f
    addi    s10, zero, 10
1:  blez    a1, 1f
    addi    s10, zero, 11
1:  bgtz    a1, 1f
    addi    s11, s11, 1
1:  bgt     a1, a0, 1f
    addi    s11, s11, 1
1:  bleu    a0, a1, 1f
    addi    s10, zero, 12
1:

    j       2f                      # backwards, taken: beq, bne, blt, bge, bltu, bgeu
1:  addi    s10, s10, 16
    j       3f
2:  beq     a0, a2, 1b
    addi    s11, s11, 1
3:  j       2f
1:  addi    s10, s10, 16
    j       3f
2:  bne     a0, a1, 1b
    addi    s11, s11, 1
3:  j       2f
1:  addi    s10, s10, 16
    j       3f
2:  blt     s3, s4, 1b
    addi    s11, s11, 1
3:  j       2f
1:  addi    s10, s10, 16
    j       3f
2:  bge     s4, s3, 1b
    addi    s11, s11, 1
3:  j       2f
1:  addi    s10, s10, 16
    j       3f
2:  bltu    s4, s3, 1b
    addi    s11, s11, 1
3:  j       2f
1:  addi    s10, s10, 16
    j       3f
2:  bgeu    s3, s4, 1b
    addi    s11, s11, 1
3:  j       2f
1:  addi    s11, s11, 1             # backwards, not taken
2:  beq     a0, a1, 1b
    bne     a0, a2, 1b
    blt     s4, s3, 1b
    bge     s3, s4, 1b
    bltu    s3, s4, 1b
    bgeu    s4, s3, 1b
    beqz    a1, 1b
    bnez    zero, 1b

    li      a3, 5                   # a counted loop: c.bnez backwards taken 4 times
    li      a4, 0
1:  add     a4, a4, a3
    addi    a3, a3, -1
    bnez    a3, 1b
    li      a3, 3                   # and a 4-byte blt backwards
1:  addi    a3, a3, -1
    add     a4, a4, a3
    blt     zero, a3, 1b

# ---- JAL and JALR ---------------------------------------------------------------------------------
    li      a0, 0
    jal     ra, inc_a0              # c.jal is RV32-only: a 4-byte jal
    call    inc_a0                  # auipc + jalr
    la      t0, inc_a0
    jalr    t0                      # c.jalr
    jalr    ra, 0(t0)
    addi    t1, t0, 1
    jalr    ra, 0(t1)               # target bit 0 is cleared
    addi    t1, t0, -3
    jalr    ra, 3(t1)               # offset added before the clear
    jal     t2, ret_t2              # link in a register other than ra
    la      t0, ret_t0
    jalr    t0, 0(t0)               # rd == rs1: the target uses the old value
    la      t1, 1f
    jr      t1                      # c.jr
    addi    s11, s11, 1
1:  la      t1, 1f
    jalr    zero, 0(t1)
    addi    s11, s11, 1
1:  j       far                     # too far for c.j: a 4-byte jal
    .skip   2100
far:
    jal     zero, 1f
    addi    s11, s11, 1
1:  tail    2f                      # auipc + jalr x0
    addi    s11, s11, 1
2:

# ---- CSR instructions on mscratch, mepc and mtval ------------------------------------------------
    csrw    mscratch, s6            # csrrw x0
    csrrw   a0, mscratch, s7
    csrrs   a1, mscratch, zero      # read only
    li      t0, 0xff00ff00
    csrrc   a2, mscratch, t0
    csrrs   a3, mscratch, s3
    csrrwi  a4, mscratch, 31
    csrrsi  a5, mscratch, 0
    csrrsi  a6, mscratch, 16
    csrrci  a7, mscratch, 1
    csrrci  t1, mscratch, 0
    csrr    t2, mscratch
    csrs    mscratch, s1            # csrrs x0
    csrc    mscratch, s2            # csrrc x0
    csrr    t3, mscratch
    csrwi   mscratch, 7
    csrsi   mscratch, 24
    csrci   mscratch, 3
    csrr    t4, mscratch
    csrrw   zero, mscratch, s8
    csrrw   t5, mscratch, zero
    csrr    t6, mscratch

    li      t0, -2
    csrrw   a0, mepc, t0            # all ones but bit 0
    csrr    a1, mepc
    li      t0, 0x80000002
    csrrw   a2, mepc, t0            # bit 1 is kept (IALIGN = 16)
    csrrci  a3, mepc, 2
    csrrsi  a4, mepc, 30
    csrrc   a5, mepc, s4
    csrrs   a6, mepc, s6
    csrrwi  a7, mepc, 4
    csrr    t1, mepc
    csrw    mepc, zero
    csrr    t2, mepc

    csrrw   a0, mtval, s1
    csrrc   a1, mtval, s2
    csrrs   a2, mtval, zero
    csrrwi  a3, mtval, 31
    csrrsi  a4, mtval, 0
    csrrci  a5, mtval, 31
    csrrs   a6, mtval, s6
    csrrc   a7, mtval, s7
    csrr    t1, mtval
    csrw    mtval, zero
    csrr    t2, mtval

# ---- fences ----------------------------------------------------------------------------------------
    fence
    fence   rw, rw
    fence   r, w
    fence.i

# ---- pseudo-random operands ------------------------------------------------------------------------
# xorshift64 (13, 7, 17) draws a and b each round; c = b >> (a & 63), arithmetic, gives divisors
# and shift counts of every magnitude (including 0 and -1). Every ALU, M, load/store and AMO
# operation then runs on them, and branches go whichever way the values say.
    li      s10, 0x9e3779b97f4a7c15 # generator state
    li      s9, 40                  # rounds
    la      s8, scratch
rand_round:
    slli    t0, s10, 13
    xor     s10, s10, t0
    srli    t0, s10, 7
    xor     s10, s10, t0
    slli    t0, s10, 17
    xor     s10, s10, t0
    mv      s2, s10                 # a
    slli    t0, s10, 13
    xor     s10, s10, t0
    srli    t0, s10, 7
    xor     s10, s10, t0
    slli    t0, s10, 17
    xor     s10, s10, t0
    mv      s3, s10                 # b
    sra     s4, s3, s2              # c
    add     a0, s2, s3
    sub     a1, s2, s4
    sll     a2, s3, s2
    srl     a3, s3, s2
    slt     a4, s3, s4
    sltu    a5, s3, s4
    xor     a6, s2, s4
    or      a7, s2, s4
    and     t0, s3, s4
    addw    t1, s2, s4
    subw    t2, s3, s4
    sllw    t3, s4, s2
    srlw    t4, s3, s4
    sraw    t5, s3, s2
    addiw   t6, s4, -1
    mul     a0, s2, s3
    mulh    a1, s2, s4
    mulhsu  a2, s4, s3
    mulhu   a3, s3, s4
    mulw    a4, s2, s4
    div     a5, s3, s4
    divu    a6, s2, s4
    rem     a7, s3, s4
    remu    t0, s2, s4
    divw    t1, s3, s4
    divuw   t2, s2, s4
    remw    t3, s3, s4
    remuw   t4, s2, s4
    div     t5, s4, s2
    remu    t6, s4, s3
    andi    a0, s2, 15              # a misaligned offset in the scratch area
    add     a0, a0, s8
    sd      s3, 0(a0)
    sw      s4, 9(a0)
    sh      s2, 3(a0)
    sb      s4, 14(a0)
    ld      a1, 1(a0)
    lw      a2, 2(a0)
    lwu     a3, 5(a0)
    lh      a4, 7(a0)
    lhu     a5, 11(a0)
    lb      a6, 14(a0)
    lbu     a7, 3(a0)
    ld      t0, 8(a0)
    sd      s3, 64(s8)
    amoadd.d  t1, s4, (s8)          # scratch+0 holds leftovers of the stores above
    amomin.d  t2, s2, (s8)
    amomaxu.d t3, s4, (s8)
    amoxor.w  t4, s2, (s8)
    amomax.w  t5, s3, (s8)
    amominu.w t6, s4, (s8)
    ld      a0, 0(s8)
    blt     s3, s4, 1f
    addi    s11, s11, 1
1:  bgeu    s3, s4, 1f
    addi    s11, s11, 2
1:  bne     s2, s4, 1f
    addi    s11, s11, 3
1:  addi    s9, s9, -1
    bnez    s9, rand_round

# ---- done ------------------------------------------------------------------------------------------
    li      t0, FINISHER
    li      t1, 0x5555
    sw      t1, 0(t0)
1:  j       1b

inc_a0:
    addi    a0, a0, 1
    ret                             # c.jr ra

ret_t2:
    addi    a1, a1, 2
    jr      t2

ret_t0:
    addi    a2, a2, 3
    jr      t0

.data
data:
    .balign 8
    .dword  0x1122334455667788      # ld_bytes - 8
ld_bytes:
    .byte   0x80, 0x7f, 0xff, 0x01, 0x00, 0x80, 0xff, 0x7f
    .word   0x80000000, 0x7fffffff
    .dword  0x8000000000000001
    .dword  0xfedcba9876543210
    .balign 8
scratch:
    .zero   256
    .balign 8
amo_w:
    .word   0, 0
amo_d:
    .dword  0
stack:
    .zero   1536
stack_top:
    .zero   1024                    # above stack_top: c.sdsp/c.addi4spn offsets reach here
    .balign 4096
page2:
    .dword  0x0f1e2d3c4b5a6978
