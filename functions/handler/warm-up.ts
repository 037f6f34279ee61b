/**
 * One-time work moved into the Init phase, so that it never lands on a held lease.
 *
 * stripe-node reads `new Error().stack` on every request, to add the caller's frames to its errors. With
 * NODE_OPTIONS=--enable-source-maps (lib/constructs/billing-function.ts) the first read in a process
 * decodes the bundle's whole source map: 0.15 to 0.2 s of a whole core for this bundle
 * (bench/source-map-init.ts; docs/lease-protocol.md, "Stalls"), and a 512 MB Lambda has less than a third
 * of a vCPU. Paid at a new leader's first charge, that stall held up the lease's heartbeat for as long;
 * paid here, it costs no lease anything.
 */
export function warmStackTraces(): void {
  void new Error("warm-up: decode the source map during Init").stack;
}
