/**
 * Reading a charge record from storage. A record of no known shape (a hand edit, a bad migration) is
 * not guessed at: the caller gets the first problem, names the field, and quarantines the subscription.
 */
import { z } from "zod";
import type { ChargeRecord } from "./charge-state";

const count = z.number().int().nonnegative();
const text = z.string();

const base = {
  subscriptionId: text.min(1),
  periodStart: text.min(1),
  customerId: text,
  paymentMethodId: text,
  amount: count,
  currency: text,
  idempotencyKey: text,
  createGeneration: count,
  confirmAttempt: count,
  attempts: count,
  paymentIntentId: text.optional(),
  canceledPaymentIntentIds: z.array(text).optional(),
  fence: count,
  version: z.number().int().positive(),
  createdAt: text,
  updatedAt: text,
};

const chargeRecord = z.discriminatedUnion("state", [
  z.looseObject({ ...base, state: z.literal("pending") }),
  z.looseObject({
    ...base,
    state: z.literal("succeeded"),
    paymentIntentId: text,
    chargeId: text.nullable(),
    settledAt: text,
  }),
  z.looseObject({
    ...base,
    state: z.literal("declined"),
    paymentIntentId: text,
    code: text,
    declineCode: text.nullable(),
    attempt: count,
    retryAt: text.nullable(),
  }),
  z.looseObject({ ...base, state: z.literal("needs_customer_action"), paymentIntentId: text, code: text }),
  z.looseObject({ ...base, state: z.literal("in_doubt"), reason: text, since: text }),
  z.looseObject({ ...base, state: z.literal("quarantined"), reason: text, field: text }),
]);

export type ChargeRecordRead =
  | { readonly ok: true; readonly record: ChargeRecord }
  | { readonly ok: false; readonly field: string; readonly problem: string };

/** The stored item as a ChargeRecord (index attributes and other extras dropped by the type), or why not. */
export function readChargeRecord(item: unknown): ChargeRecordRead {
  const parsed = chargeRecord.safeParse(item);
  if (parsed.success) return { ok: true, record: parsed.data };
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join(".") || "record";
  return { ok: false, field, problem: `${field}: ${issue?.message ?? "unreadable"}` };
}
