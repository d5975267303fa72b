/**
 * Where `cloakroom migrate` keeps its place: a small JSON file, rewritten (atomically, by
 * rename) after every page, so an interrupted copy resumes from the last page it finished.
 * It names the stores by their masked URLs only; a resumed run must name the same two.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { CopyProgress } from "../src/index.ts";
import { usageError } from "./shell.ts";

/** A copy's progress (its counts are totals over every run so far) with what names the run. */
export interface MigrateState extends CopyProgress {
  version: 1;
  from: string;
  to: string;
  /** Live sessions the counting pass found (an estimate once traffic moves on). */
  total: number;
  startedAt: string;
  updatedAt: string;
}

/** The default file for a pair of stores: one per pair, in the working directory. */
export function defaultStatePath(from: string, to: string): string {
  const digest = createHash("sha256").update(`${from}\n${to}`).digest("hex").slice(0, 12);
  return resolve(`.cloakroom-migrate-${digest}.json`);
}

export function loadState(path: string, from: string, to: string): MigrateState | undefined {
  if (!existsSync(path)) return undefined;
  let state: MigrateState;
  try {
    state = JSON.parse(readFileSync(path, "utf8")) as MigrateState;
  } catch {
    throw usageError(`the state file ${path} is not one cloakroom migrate wrote; pass another --state, or remove it to start over.`);
  }
  if (state?.version !== 1 || typeof state.from !== "string" || typeof state.to !== "string") {
    throw usageError(`the state file ${path} is not one cloakroom migrate wrote; pass another --state, or remove it to start over.`);
  }
  if (state.from !== from || state.to !== to) {
    throw usageError(`the state file ${path} is for a copy from ${state.from} to ${state.to}; pass another --state for this pair, or remove it.`);
  }
  return state;
}

export function newState(from: string, to: string, total: number): MigrateState {
  const now = new Date().toISOString();
  return { version: 1, from, to, total, scanned: 0, copied: 0, present: 0, gone: 0, cursor: null, done: false, startedAt: now, updatedAt: now };
}

/** The state after a page of this run; `base` is the state the run started from. */
export function advance(base: MigrateState, run: CopyProgress): MigrateState {
  return {
    ...base,
    scanned: base.scanned + run.scanned,
    copied: base.copied + run.copied,
    present: base.present + run.present,
    gone: base.gone + run.gone,
    cursor: run.cursor,
    done: run.done,
    updatedAt: new Date().toISOString(),
  };
}

export function saveState(path: string, state: MigrateState): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temporary, path);
}
