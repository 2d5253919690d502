/* Host reference for `npm run bench`: the cost of a minor (demand-zero) page fault on this machine.
 * Maps argv[1] fresh 4 KiB pages (transparent huge pages off), stores once to each, and prints the
 * nanoseconds the stores took (wall clock), the minor faults they caused, and the CPU time they took
 * (user + system, which leaves out time spent waiting for a core on a busy machine):
 * "<ns> <faults> <cpu ns>". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

int main(int argc, char **argv) {
  long pages = argc > 1 ? atol(argv[1]) : 16384;
  size_t len = (size_t)pages * 4096;
  volatile char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
#ifdef MADV_NOHUGEPAGE
  madvise((void *)p, len, MADV_NOHUGEPAGE);
#endif
  struct rusage r0, r1;
  struct timespec t0, t1, c0, c1;
  getrusage(RUSAGE_SELF, &r0);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < pages; i++) p[i * 4096] = 1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  getrusage(RUSAGE_SELF, &r1);
  long ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
  long cpu = (c1.tv_sec - c0.tv_sec) * 1000000000L + (c1.tv_nsec - c0.tv_nsec);
  printf("%ld %ld %ld\n", ns, r1.ru_minflt - r0.ru_minflt, cpu);
  return 0;
}
