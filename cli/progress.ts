/**
 * Progress of a long command: on a terminal, one line redrawn in place (a bar, the count, the
 * rate and the time left); otherwise (a pipe, a log file, CI) a plain line at most every
 * `everyMs`, so a log stays readable.
 */
import type { Io } from "./shell.ts";

export interface Progress {
  /** `done` of `total` (total unknown: 0) after `seconds`; `note` follows the figures. */
  update(done: number, total: number, note?: string): void;
  /** Ends the bar's line (a terminal) or prints the last figures (otherwise). */
  finish(done: number, total: number, note?: string): void;
}

const number = (n: number) => Math.round(n).toLocaleString("en-US");

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function progress(io: Io, label: string, options: { everyMs?: number } = {}): Progress {
  const started = performance.now();
  let lastLine = -Infinity;
  let drawn = false;
  const figures = (done: number, total: number) => {
    const seconds = (performance.now() - started) / 1000;
    const rate = done / Math.max(seconds, 0.001);
    const left = total > done && rate > 0 ? (total - done) / rate : total > 0 ? 0 : Number.NaN;
    return { seconds, rate, left, pct: total > 0 ? Math.min(100, (100 * done) / total) : Number.NaN };
  };
  const text = (done: number, total: number, note: string | undefined, bar: boolean) => {
    const f = figures(done, total);
    const count = total > 0 ? `${number(done)}/${number(total)}` : number(done);
    const width = 24;
    const filled = Number.isFinite(f.pct) ? Math.round((f.pct / 100) * width) : 0;
    const head = bar ? `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ` : "";
    const pct = Number.isFinite(f.pct) ? ` ${f.pct.toFixed(0)}%` : "";
    return `${label} ${head}${count}${pct}, ${number(f.rate)}/s, ${duration(f.left)} left${note ? `, ${note}` : ""}`;
  };
  return {
    update(done, total, note) {
      const now = performance.now();
      if (io.tty) {
        // Redrawn at most ten times a second: a fast copy must not spend its time on the terminal.
        if (now - lastLine < 100) return;
        io.status(`\r\x1b[2K${text(done, total, note, true)}`);
        drawn = true;
      } else {
        if (now - lastLine < (options.everyMs ?? 1000)) return;
        io.err(text(done, total, note, false));
      }
      lastLine = now;
    },
    finish(done, total, note) {
      if (io.tty) io.status(`\r\x1b[2K${text(done, total, note, true)}\n`);
      else if (drawn || total > 0 || done > 0) io.err(text(done, total, note, false));
    },
  };
}
