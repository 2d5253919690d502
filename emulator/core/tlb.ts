/**
 * API CONTRACT (to be implemented): the architectural TLB, shared by all architectures.
 *
 * Addresses are given as virtual page numbers `vpn = VA >>> 12` held in a JS number (up to 45
 * significant bits after sign-dropping: the caller passes VA bits [56:12] only, so vpn < 2^45).
 *
 * - Set-associative, `sets = entries / ways` (power of two). An entry of page size 2^shift is
 *   stored in set `(vpn / 2^(shift-12)) mod sets` (the set index is taken from the VPN bits above
 *   the page offset of *that* size). Lookup probes every configured page size, smallest first.
 * - Replacement: round-robin per set (a per-set victim pointer that advances on each fill), so that
 *   the replacement never depends on hits (a host fast path in front of the TLB may skip lookups).
 * - Matching: entry.vpnBase == vpn & ~(pages-1) && entry.shift == size && (entry.global || entry.asid == asid).
 * - Entries carry: vpn base, shift (12, 21, 30, 39, ...), asid, global, ppn (physical page number of
 *   the *start* of the mapping, as a number), perm (architecture-defined small bit set, opaque here),
 *   pteAddr (physical address of the leaf PTE), and pteLo/pteHi (the leaf PTE value as int32 halves).
 * - Every removal (eviction or invalidation) calls `onDrop(vpnBase, shift)` if set, so a host fast
 *   path can drop what it derived from the entry.
 */
export {};
