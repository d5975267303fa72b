/**
 * `cloakroom migrate --from <url> --to <url>`: step 2 of moving sessions between stores (the
 * application already runs on `migratingStore({ from, to })`). Counts the live sessions, then
 * copies them page by page with `copySessions`, saving its place after every page: Ctrl-C (or
 * a crash) loses at most a page, and running the same command again continues; what the new
 * store already holds is never copied again.
 */
import { copySessions, SessionError } from "../../src/index.ts";
import { advance, defaultStatePath, loadState, newState, saveState, type MigrateState } from "../migrate-state.ts";
import { progress } from "../progress.ts";
import { EXIT, integerOption, option, usageError, type Command } from "../shell.ts";
import { maskUrl, openStore, STORE_URL_HELP } from "../store-url.ts";

export const migrate: Command = {
  name: "migrate",
  summary: "copy every live session from one store to another, resumably (step 2 of a move)",
  help: `Usage: cloakroom migrate --from <url> --to <url> [--dry-run] [--state <file>] [--page-size <n>]
                         [--concurrency <n>] [--max-pages <n>] [--restart]

Copies every live session from the old store to the new one, with its expiry, version and user.
Run it while the application runs on migratingStore({ from, to }) (README, "Moving to another
store"): sessions keep being read, written and signed out during the copy, and none is lost or
comes back. Progress goes to stderr: a bar on a terminal, a line a second otherwise.

Resumable: the place is saved after every page in a state file; after Ctrl-C or a crash, run the
same command again. Nothing is copied twice: a session the new store already holds is left alone.

  --from <url>         the store sessions move out of (it must be able to list them)
  --to <url>           the store they move into (a Postgres table is created if missing)
  --dry-run            only count the live sessions; write nothing
  --state <file>       where to keep the place (default .cloakroom-migrate-<pair>.json here)
  --page-size <n>      sessions per page (default 200)
  --concurrency <n>    copies in flight (default 16)
  --max-pages <n>      stop after n pages this run (spread a copy over quiet hours); run again to go on
  --restart            scan again from the start even if the state file says done

Either option left out means the store your environment describes.
${STORE_URL_HELP}`,
  options: {
    from: { type: "string" }, to: { type: "string" }, "dry-run": { type: "boolean" }, state: { type: "string" },
    "page-size": { type: "string" }, concurrency: { type: "string" }, "max-pages": { type: "string" }, restart: { type: "boolean" },
  },
  async run(args, io) {
    const fromUrl = option(args, "from");
    const toUrl = option(args, "to");
    if (fromUrl === undefined && toUrl === undefined) throw usageError("migrate needs --from <url> and --to <url> (one of them may come from the environment).");
    const pageSize = integerOption(args, "page-size", 200, 1, 10_000);
    const concurrency = integerOption(args, "concurrency", 16, 1, 1000);
    const maxPages = integerOption(args, "max-pages", Number.MAX_SAFE_INTEGER, 1, Number.MAX_SAFE_INTEGER);
    const dryRun = Boolean(args.values["dry-run"]);

    const from = await openStore(fromUrl, io, { what: "--from" });
    let to: Awaited<ReturnType<typeof openStore>> | undefined;
    try {
      to = await openStore(toUrl, io, { what: "--to", migrate: !dryRun });
      const names = { from: fromUrl ? maskUrl(fromUrl) : from.description, to: toUrl ? maskUrl(toUrl) : to.description };
      if (names.from === names.to) throw usageError("--from and --to name the same store; give the old store and the new one.");
      if (typeof from.store.scan !== "function") {
        throw new SessionError("ERR_SESSION_UNSUPPORTED", `the ${from.store.name} store cannot list its sessions (no scan), so migrate cannot copy from it.`);
      }
      const statePath = option(args, "state") ?? defaultStatePath(names.from, names.to);
      io.err(`from ${from.description}`);
      io.err(`to   ${to.description}`);

      let state: MigrateState | undefined = dryRun ? undefined : loadState(statePath, names.from, names.to);
      if (state?.done && !args.values.restart) {
        io.out(`already complete: ${state.copied} sessions copied (${state.present} were there already, ${state.gone} signed out meanwhile), last run ${state.updatedAt}. Nothing to copy; --restart scans again (copying only what the new store lacks).`);
        return EXIT.ok;
      }
      if (args.values.restart) state = undefined;

      if (!state) {
        const counting = progress(io, "counting");
        const counted = await copySessions({ from: from.store, to: to.store, dryRun: true, pageSize, onPage: (p) => counting.update(p.scanned, 0) });
        counting.finish(counted.scanned, 0);
        if (dryRun) {
          io.out(`${counted.scanned} live sessions to copy from ${names.from} to ${names.to} (dry run: nothing written).`);
          return EXIT.ok;
        }
        state = newState(names.from, names.to, counted.scanned);
        saveState(statePath, state);
      } else {
        io.err(`resuming from ${statePath}: ${state.copied} copied so far`);
      }

      const stop = new AbortController();
      let pages = 0;
      const onSignal = () => {
        if (stop.signal.aborted) process.exit(130);
        io.err("\nstopping after this page (Ctrl-C again to stop now; the page is then copied again next time)...");
        stop.abort();
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      const base: MigrateState = state;
      const bar = progress(io, "copying");
      const note = (s: MigrateState) => `${s.copied} copied, ${s.present} there already`;
      let current = base;
      try {
        const run = await copySessions({
          from: from.store,
          to: to.store,
          cursor: base.cursor,
          pageSize,
          concurrency,
          signal: stop.signal,
          onPage: (page) => {
            current = advance(base, page);
            saveState(statePath, current);
            bar.update(current.scanned, current.total, note(current));
            if (++pages >= maxPages && !page.done) stop.abort();
          },
        });
        current = advance(base, run);
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      bar.finish(current.scanned, current.total, note(current));
      saveState(statePath, current);
      const figures = `${current.copied} copied, ${current.present} already in the new store, ${current.gone} signed out or expired meanwhile`;
      if (!current.done) {
        io.out(`stopped: ${figures}, ${current.scanned} of about ${current.total} looked at. Run the same command again to continue (state: ${statePath}).`);
        return stop.signal.aborted && pages < maxPages ? 130 : EXIT.ok;
      }
      io.out(`done: ${figures}. Step 3: run the application on the new store alone.`);
      return EXIT.ok;
    } finally {
      await Promise.all([from.close(), to?.close()]);
    }
  },
};
