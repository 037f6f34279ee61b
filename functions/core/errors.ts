/**
 * The project's one base error. Every error the job throws on purpose is a BillingJobError, names itself,
 * and keeps what caused it (`{ cause }`, as the standard Error does), so a log line shows the whole chain.
 * Expected outcomes (a decline, a lost lease race) are values, not errors. Each subclass sets its `name`
 * as a string literal: the Lambda bundle is minified, and `new.target.name` would log a mangled name there.
 */
export class BillingJobError extends Error {
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
