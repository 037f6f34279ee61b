/**
 * A number DynamoDB holds but JavaScript cannot read exactly (beyond 2^53, or out of range): the adapter
 * hands it over as this, never as a rounded number and never as a thrown error, so validation can name
 * the field and the run quarantines the record instead of failing on it.
 */
export class UnreadableNumber {
  constructor(readonly digits: string) {}
}

export function describeUnreadable(value: UnreadableNumber): string {
  const digits = value.digits.length > 24 ? `${value.digits.slice(0, 24)}...` : value.digits;
  return `an unreadable number (${digits})`;
}
