/**
 * Optional persistence (`stateFile`): the store, the saved idempotency keys and how far the clock was
 * advanced, as one JSON file rewritten atomically after every POST. Restarting the emulator with the
 * same file continues where it stopped, which lets a local run survive an emulator restart.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { paramsFromJson, paramsToJson, type Params } from "./form";
import type { SavedKey } from "./idempotency";
import type { StoreData } from "./store";

export interface PersistedState {
  readonly format: 1;
  readonly apiVersion: string;
  readonly clockAdvancedMs: number;
  readonly store: StoreData;
  readonly idempotencyKeys: SavedKey[];
}

export function loadState(file: string): PersistedState | null {
  if (!existsSync(file)) return null;
  const parsed = JSON.parse(readFileSync(file, "utf8")) as PersistedState;
  if (parsed.format !== 1) throw new Error(`${file}: unknown state format ${String(parsed.format)}`);
  return {
    ...parsed,
    idempotencyKeys: parsed.idempotencyKeys.map((k) => ({
      ...k,
      params: paramsFromJson(k.params) as Params,
    })),
  };
}

export function saveState(file: string, state: PersistedState): void {
  const json = JSON.stringify(
    {
      ...state,
      idempotencyKeys: state.idempotencyKeys.map((k) => ({ ...k, params: paramsToJson(k.params) })),
    },
    null,
    1,
  );
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, json);
  renameSync(tmp, file);
}
