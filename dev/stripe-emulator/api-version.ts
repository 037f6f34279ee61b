/**
 * The one Stripe API version whose response shape the emulator produces. It is the version the installed
 * `stripe` SDK (v23) pins, so SDK types and emulator objects agree. Requests asking for another version
 * through `Stripe-Version` still get this shape; the response header says which version answered.
 */
export const PINNED_API_VERSION = "2026-10-28.endive";
