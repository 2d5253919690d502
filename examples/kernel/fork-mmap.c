/*
 * fork-mmap: a freestanding static Linux program (no libc) that prints its arguments, fills an
 * anonymous mapping, forks a child that overwrites both a global and the mapping, and checks
 * after wait4 that the parent's copies are untouched (copy-on-write).
 *
 * Build (any riscv64 Linux cross compiler):
 *   riscv64-linux-gnu-gcc -static -nostdlib -ffreestanding -fno-stack-protector -O2 \
 *     -march=rv64imac -mabi=lp64 -o fork-mmap.elf fork-mmap.c
 * Runs unchanged under `multios run --arch riscv64` and under `qemu-riscv64`; exits with the
 * number of failed checks.
 */

enum {
  SYS_write = 64, SYS_exit = 93, SYS_getpid = 172, SYS_munmap = 215, SYS_clone = 220,
  SYS_mmap = 222, SYS_wait4 = 260,
  PROT_READ = 1, PROT_WRITE = 2, MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, SIGCHLD = 17,
};

#define PAGES 16
#define PAGE 4096

static long syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  register long x10 __asm__("a0") = a0;
  register long x11 __asm__("a1") = a1;
  register long x12 __asm__("a2") = a2;
  register long x13 __asm__("a3") = a3;
  register long x14 __asm__("a4") = a4;
  register long x15 __asm__("a5") = a5;
  register long x17 __asm__("a7") = nr;
  __asm__ volatile("ecall" : "+r"(x10) : "r"(x11), "r"(x12), "r"(x13), "r"(x14), "r"(x15), "r"(x17) : "memory");
  return x10;
}

static unsigned long length(const char *s) {
  unsigned long n = 0;
  while (s[n]) n++;
  return n;
}

static void put(const char *s) {
  syscall6(SYS_write, 1, (long)s, (long)length(s), 0, 0, 0);
}

static void put_unsigned(unsigned long v) {
  char buf[24];
  int i = sizeof buf;
  do {
    buf[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  syscall6(SYS_write, 1, (long)(buf + i), (long)(sizeof buf - i), 0, 0, 0);
}

static int failures;

static void check(int ok, const char *what) {
  put(ok ? "ok " : "FAIL ");
  put(what);
  put("\n");
  if (!ok) failures++;
}

static volatile long shared_global = 1;

static unsigned long checksum(volatile unsigned long *words, unsigned long n) {
  unsigned long sum = 0;
  for (unsigned long i = 0; i < n; i++) sum = sum * 31 + words[i];
  return sum;
}

__attribute__((noreturn)) static void exit_with(long code) {
  for (;;) syscall6(SYS_exit, code, 0, 0, 0, 0, 0);
}

__attribute__((noreturn, used)) void start_c(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  put("argc ");
  put_unsigned((unsigned long)argc);
  put("\n");
  for (long i = 0; i < argc; i++) {
    put("argv: ");
    put(argv[i]);
    put("\n");
  }

  long mem = syscall6(SYS_mmap, 0, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  check(mem > 0 && (mem & (PAGE - 1)) == 0, "mmap returns a page-aligned address");
  volatile unsigned long *words = (volatile unsigned long *)mem;
  const unsigned long n = PAGES * PAGE / sizeof(unsigned long);
  check(checksum(words, n) == 0, "fresh anonymous memory reads zeros");
  for (unsigned long i = 0; i < n; i++) words[i] = i * 2654435761u;
  unsigned long before = checksum(words, n);
  put("checksum ");
  put_unsigned(before);
  put("\n");

  long parent = syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0);
  long pid = syscall6(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
  if (pid == 0) {
    shared_global = 99;
    for (unsigned long i = 0; i < n; i += PAGE / sizeof(unsigned long)) words[i] = ~0ul;
    check(checksum(words, n) != before, "child: its writes change its copy");
    check(shared_global == 99, "child: its global takes its write");
    exit_with(3 + failures);
  }
  int status = 0;
  long waited = syscall6(SYS_wait4, pid, (long)&status, 0, 0, 0, 0);
  check(pid > 0 && pid != parent, "parent: fork returned the child's pid");
  check(waited == pid, "parent: wait4 returns the child's pid");
  check(status == 3 << 8, "parent: the child exited with status 3");
  check(shared_global == 1, "parent: its global is untouched by the child");
  check(checksum(words, n) == before, "parent: its mapping is untouched by the child");
  check(syscall6(SYS_munmap, mem, PAGES * PAGE, 0, 0, 0, 0) == 0, "munmap returns 0");
  exit_with(failures);
}

__asm__(
    ".text\n"
    ".globl _start\n"
    "_start:\n"
    ".option push\n"
    ".option norelax\n"
    "  la gp, __global_pointer$\n"
    ".option pop\n"
    "  mv a0, sp\n"
    "  j start_c\n");
