/**
 * A subset of Stripe's Search Query Language for PaymentIntents
 * (https://docs.stripe.com/search#search-query-language):
 *
 *   metadata['subscription_id']:'sub_1' AND status:'succeeded'
 *   amount>=1000 created<1700000000 -currency:'usd'
 *
 * Clauses are joined by AND, OR (not both in one query) or a space (AND); up to 10 clauses; `-` negates.
 * Fields: amount, created, currency, customer, status, metadata['key']. Operators: `:` (equals), `~`
 * (contains, strings), `>`, `<`, `>=`, `<=` (numbers).
 */
import { invalidRequest, type ApiError } from "./errors";
import type { PaymentIntentRecord } from "./records";

type Field =
  | { kind: "metadata"; key: string }
  | { kind: "attribute"; name: "amount" | "created" | "currency" | "customer" | "status" };
type Operator = ":" | "~" | ">" | "<" | ">=" | "<=";

interface Clause {
  readonly negated: boolean;
  readonly field: Field;
  readonly operator: Operator;
  readonly value: string;
}

export interface SearchQuery {
  readonly join: "AND" | "OR";
  readonly clauses: readonly Clause[];
}

const NUMERIC = new Set(["amount", "created"]);
const ATTRIBUTES = new Set(["amount", "created", "currency", "customer", "status"]);

function queryError(message: string): ApiError {
  return invalidRequest(message, { param: "query" });
}

export function parseSearchQuery(text: string): SearchQuery {
  let pos = 0;
  const clauses: Clause[] = [];
  const joins = new Set<"AND" | "OR">();

  const skipSpaces = (): boolean => {
    const start = pos;
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
    return pos > start;
  };
  const quoted = (): string => {
    const quote = text[pos];
    if (quote !== "'" && quote !== '"')
      throw queryError(`Invalid query at position ${pos}: expected a quoted string.`);
    pos++;
    let out = "";
    while (pos < text.length && text[pos] !== quote) {
      if (text[pos] === "\\" && pos + 1 < text.length) pos++;
      out += text[pos];
      pos++;
    }
    if (pos >= text.length) throw queryError("Invalid query: unterminated string.");
    pos++;
    return out;
  };

  skipSpaces();
  while (pos < text.length) {
    const negated = text[pos] === "-";
    if (negated) pos++;
    const name = /^[a-z_]+/.exec(text.slice(pos))?.[0];
    if (!name) throw queryError(`Invalid query at position ${pos}: expected a field name.`);
    pos += name.length;
    let field: Field;
    if (name === "metadata") {
      if (text[pos] !== "[") throw queryError("Invalid query: metadata fields are written metadata['key'].");
      pos++;
      const key = quoted();
      if (text[pos] !== "]") throw queryError("Invalid query: metadata fields are written metadata['key'].");
      pos++;
      field = { kind: "metadata", key };
    } else if (ATTRIBUTES.has(name)) {
      field = { kind: "attribute", name: name as "amount" };
    } else {
      throw queryError(
        `Field \`${name}\` is an unsupported search field for resource \`payment_intents\`. See https://stripe.com/docs/search#query-fields-for-payment-intents for a list of supported fields.`,
      );
    }
    const operator = /^(>=|<=|:|~|>|<)/.exec(text.slice(pos))?.[0] as Operator | undefined;
    if (!operator) throw queryError(`Invalid query at position ${pos}: expected an operator.`);
    pos += operator.length;
    const numeric = field.kind === "attribute" && NUMERIC.has(field.name);
    let value: string;
    if (text[pos] === "'" || text[pos] === '"') value = quoted();
    else {
      value = /^[^\s]+/.exec(text.slice(pos))?.[0] ?? "";
      if (value === "") throw queryError(`Invalid query at position ${pos}: expected a value.`);
      pos += value.length;
    }
    if (numeric && !/^-?\d+$/.test(value)) throw queryError(`Invalid query: \`${name}\` takes an integer.`);
    if (!numeric && operator !== ":" && operator !== "~") {
      throw queryError(`Invalid query: \`${operator}\` only applies to numeric fields.`);
    }
    clauses.push({ negated, field, operator, value });
    if (clauses.length > 10) throw queryError("Invalid query: at most 10 clauses are allowed.");

    const spaced = skipSpaces();
    if (pos >= text.length) break;
    const word = /^(AND|OR)\b/i.exec(text.slice(pos))?.[0];
    if (word) {
      joins.add(word.toUpperCase() as "AND" | "OR");
      pos += word.length;
      if (!skipSpaces())
        throw queryError(`Invalid query at position ${pos}: expected a space after ${word}.`);
    } else if (spaced) {
      joins.add("AND");
    } else {
      throw queryError(`Invalid query at position ${pos}.`);
    }
  }
  if (clauses.length === 0) throw queryError("Invalid query: the query is empty.");
  if (joins.size > 1) throw queryError("Invalid query: a query cannot mix `AND` and `OR`.");
  return { join: joins.has("OR") ? "OR" : "AND", clauses };
}

function clauseMatches(clause: Clause, pi: PaymentIntentRecord): boolean {
  const field = clause.field;
  let actual: string | number | null;
  if (field.kind === "metadata") actual = pi.metadata[field.key] ?? null;
  else if (field.name === "amount") actual = pi.amount;
  else if (field.name === "created") actual = pi.created;
  else if (field.name === "currency") actual = pi.currency;
  else if (field.name === "customer") actual = pi.customer;
  else actual = pi.status;

  let result: boolean;
  if (typeof actual === "number") {
    const want = Number(clause.value);
    result =
      clause.operator === ">"
        ? actual > want
        : clause.operator === "<"
          ? actual < want
          : clause.operator === ">="
            ? actual >= want
            : clause.operator === "<="
              ? actual <= want
              : actual === want;
  } else if (actual === null) {
    result = false;
  } else if (clause.operator === "~") {
    result = actual.toLowerCase().includes(clause.value.toLowerCase());
  } else {
    result =
      field.kind === "attribute" && field.name === "currency"
        ? actual === clause.value.toLowerCase()
        : actual === clause.value;
  }
  return clause.negated ? !result : result;
}

export function matches(query: SearchQuery, pi: PaymentIntentRecord): boolean {
  return query.join === "AND"
    ? query.clauses.every((c) => clauseMatches(c, pi))
    : query.clauses.some((c) => clauseMatches(c, pi));
}
