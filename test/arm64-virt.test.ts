/**
 * The arm64-virt machine: QEMU virt's memory map, the device tree, the PL011, and the bare-boot
 * entry state (EL1h, MMU off, DAIF masked, X0 = the DTB address, pc = the ELF entry).
 */
import { describe, expect, it } from "vitest";
import { arm64DtbAddress, bootBareArm64, createArm64Virt } from "../boot/arm64/virt.js";
import { ARM64_VIRT_MEMORY_MAP } from "../boot/arm64/virt-dtb.js";
import { fdtGetString, fdtGetStrings, fdtGetU32, findNode, parseFdt } from "../boot/fdt.js";
import { FR_RXFE, FR_TXFE, Pl011, UARTDR, UARTFR } from "../emulator/devices/pl011.js";
import { ElfError } from "../boot/elf.js";

/** A minimal AArch64 ELF: one PT_LOAD of `code` at `addr`, entry = addr. */
function tinyElf(addr: number, code: number[], machine = 183): Uint8Array {
  const b = new Uint8Array(0x78 + code.length * 4);
  const d = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  d.setUint16(16, 2, true); // ET_EXEC
  d.setUint16(18, machine, true);
  d.setUint32(20, 1, true);
  d.setBigUint64(24, BigInt(addr), true);
  d.setBigUint64(32, 0x40n, true);
  d.setUint16(52, 64, true);
  d.setUint16(54, 56, true);
  d.setUint16(56, 1, true);
  d.setUint32(0x40, 1, true); // PT_LOAD
  d.setUint32(0x44, 5, true);
  d.setBigUint64(0x48, 0x78n, true);
  d.setBigUint64(0x50, BigInt(addr), true);
  d.setBigUint64(0x58, BigInt(addr), true);
  d.setBigUint64(0x60, BigInt(code.length * 4), true);
  d.setBigUint64(0x68, BigInt(code.length * 4), true);
  code.forEach((w, i) => d.setUint32(0x78 + i * 4, w >>> 0, true));
  return b;
}

describe("bare boot", () => {
  it("enters EL1h at the ELF entry with the MMU off, DAIF masked and X0 = the DTB address", () => {
    const v = createArm64Virt();
    bootBareArm64(v, tinyElf(0x40080000, [0xd503201f]));
    const c = v.cpu;
    expect(c.pc).toBe(0x40080000n);
    expect(c.el).toBe(1);
    expect(c.spsel).toBe(1);
    expect(c.daif).toBe(0x3c0);
    expect(c.mmu.sctlr & 1n).toBe(0n);
    expect(c.x(0)).toBe(BigInt(v.dtbAddr));
    expect(v.dtbAddr).toBe(0x40000000);
    expect(v.machine.bus.read64(v.dtbAddr)! & 0xffffffffn).toBe(0xedfe0dd0n);
  });

  it("places the DTB after an image loaded at the start of RAM, 2 MiB aligned (QEMU's initrd rule)", () => {
    expect(arm64DtbAddress(0x40000000, 128 << 20, 0x40000000, 0x40012345, 0x1000)).toBe(0x40000000 + (64 << 20));
    expect(arm64DtbAddress(0x40000000, 1 << 30, 0x40000000, 0x40012345, 0x1000)).toBe(0x40000000 + (128 << 20));
    expect(arm64DtbAddress(0x40000000, 128 << 20, 0x40000000, 0x45000001, 0x1000)).toBe(0x45200000);
  });

  it("rejects an ELF for another machine and a bad RAM size", () => {
    expect(() => bootBareArm64(createArm64Virt(), tinyElf(0x40080000, [0], 243))).toThrow(ElfError);
    expect(() => createArm64Virt({ ramSize: 1000 })).toThrow(RangeError);
  });
});

describe("device tree", () => {
  it("describes RAM, the PL011, PSCI over HVC, the Cortex-A57 and the timer like QEMU virt", () => {
    const v = createArm64Virt({ ramSize: 256 << 20, bootargs: "console=ttyAMA0" });
    const root = parseFdt(v.dtb);
    expect(fdtGetString(root, "compatible")).toBe("linux,dummy-virt");
    expect(fdtGetString(findNode(root, "/psci")!, "method")).toBe("hvc");
    expect(fdtGetStrings(findNode(root, "/psci")!, "compatible")).toContain("arm,psci-0.2");
    expect(findNode(root, "/memory@40000000")).toBeDefined();
    expect(fdtGetStrings(findNode(root, "/pl011@9000000")!, "compatible")).toEqual(["arm,pl011", "arm,primecell"]);
    expect(fdtGetString(findNode(root, "/cpus/cpu@0")!, "compatible")).toBe("arm,cortex-a57");
    expect(fdtGetStrings(findNode(root, "/timer")!, "compatible")).toContain("arm,armv8-timer");
    expect(fdtGetString(findNode(root, "/chosen")!, "stdout-path")).toBe("/pl011@9000000");
    expect(fdtGetString(findNode(root, "/chosen")!, "bootargs")).toBe("console=ttyAMA0");
    expect(fdtGetU32(findNode(root, "/apb-pclk")!, "clock-frequency")).toBe(24_000_000);
    expect(ARM64_VIRT_MEMORY_MAP.uart.base).toBe(0x09000000);
    const intc = findNode(root, "/intc@8000000")!;
    expect(fdtGetString(intc, "compatible")).toBe("arm,cortex-a15-gic");
    expect(fdtGetU32(root, "interrupt-parent")).toBe(fdtGetU32(intc, "phandle"));
  });

  it("without the GIC there is no interrupt controller node and no interrupts property", () => {
    const root = parseFdt(createArm64Virt({ gic: false }).dtb);
    expect(findNode(root, "/intc@8000000")).toBeUndefined();
    expect(findNode(root, "/timer")!.props.has("interrupts")).toBe(false);
    expect(findNode(parseFdt(createArm64Virt().dtb), "/timer")!.props.has("interrupts")).toBe(true);
  });
});

describe("PL011", () => {
  it("transmits UARTDR writes, reports an empty transmit FIFO, and has the PrimeCell IDs", () => {
    const out: number[] = [];
    const u = new Pl011("pl011", (b) => out.push(b));
    u.write(UARTDR, 1, 0x41);
    expect(out).toEqual([0x41]);
    expect(u.read(UARTFR, 4) & (FR_TXFE | FR_RXFE)).toBe(FR_TXFE | FR_RXFE);
    expect([0xfe0, 0xfe4, 0xfe8, 0xfec, 0xff0, 0xff4, 0xff8, 0xffc].map((o) => u.read(o, 4))).toEqual([0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
    u.pushInput([0x62]);
    expect(u.read(UARTFR, 4) & FR_RXFE).toBe(0);
    expect(u.read(UARTDR, 4)).toBe(0x62);
    expect(u.read(UARTFR, 4) & FR_RXFE).toBe(FR_RXFE);
  });
});
