/**
 * Booting an S-mode payload on the TypeScript SBI firmware, like `qemu-system-riscv64 -M virt
 * -kernel IMAGE.elf` with its default OpenSBI: the firmware's entries sit at the start of RAM, the
 * payload ELF is loaded at its physical addresses (0x8020_0000 by convention), and the boot hart
 * (hart 0) enters the payload in S-mode with a0 = 0 and a1 = the device tree; the other harts stay
 * stopped until the payload starts them with SBI HSM hart_start (sbi-smp.ts).
 */
import { EM_RISCV, ElfError, loadElfPhysical, parseElf } from "../elf.js";
import { installFirmware } from "./sbi.js";
import type { RiscvVirt } from "./virt.js";

/** Where the firmware's native entries live: the first 2 MiB of RAM, as OpenSBI's fw_dynamic. */
export const SBI_FIRMWARE_BASE = 0x8000_0000;
export const SBI_FIRMWARE_SIZE = 0x20_0000;
/** Where OpenSBI (fw_dynamic / fw_jump on QEMU virt) expects the payload: the first address after it. */
export const SBI_PAYLOAD_BASE = 0x8020_0000n;

/**
 * Loads `elf` (an RV64 ELF for S-mode) and the DTB, installs the firmware and resets hart 0 into
 * it. Throws ElfError for an image that is not a loadable RV64 ELF in RAM, or that overlaps the
 * firmware or the device tree. `log` receives the firmware's fatal-error messages.
 */
export function bootSbi(v: RiscvVirt, elf: Uint8Array, log: (line: string) => void = () => {}): void {
  const image = parseElf(elf, EM_RISCV);
  for (const s of image.segments) {
    const start = Number(s.paddr), end = start + s.memsz;
    if (start < SBI_FIRMWARE_BASE + SBI_FIRMWARE_SIZE && end > SBI_FIRMWARE_BASE) {
      throw new ElfError(`segment at 0x${start.toString(16)} overlaps the SBI firmware at 0x${SBI_FIRMWARE_BASE.toString(16)} (link the payload at 0x80200000)`);
    }
    if (end > v.dtbAddr && start < v.dtbAddr + v.dtb.length) throw new ElfError(`segment at 0x${start.toString(16)} overlaps the device tree at 0x${v.dtbAddr.toString(16)}`);
  }
  loadElfPhysical(v.machine.bus, image);
  v.machine.bus.load(v.dtbAddr, v.dtb);
  installFirmware(v, {
    base: SBI_FIRMWARE_BASE,
    kernelEntry: Number(image.entry),
    bootInfo: v.dtbAddr,
    buildBootInfo: () => {},
    onReset: (kind, code) => v.machine.requestFinish(kind === "shutdown" ? (code === 0 ? "pass" : "fail") : "reset", code),
    onFatal: (message) => {
      log(message);
      v.machine.requestFinish("fail", 1);
    },
  });
  v.machine.harts[0]!.reset(SBI_FIRMWARE_BASE, 0, v.dtbAddr);
}
