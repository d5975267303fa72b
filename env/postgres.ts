/**
 * `DATABASE_URL` -> the Postgres store, schema migrated:
 *   postgres://user:pass@host:5432/db   a PostgreSQL server, through a `pg` Pool
 *   pglite:./.data/sessions             PGlite (PostgreSQL in WebAssembly) in that directory:
 *                                       sessions survive a restart, nothing to install
 *
 * The drivers are loaded only here, by specifiers bundlers do not follow. The pool or the
 * PGlite instance is closed by `close()`: the adapter never closes what the application opened
 * (and an open PGlite keeps the process alive). Errors never echo the URL.
 *
 * @module
 */
import { SessionError } from "../src/errors.ts";
import { fromPg, fromPGlite, postgresStore, type QueryFunction } from "../adapters/postgres/index.ts";
import { loadDriver } from "./load.ts";
import { configError, oneLine, type EnvLog, type OpenedStore } from "./variables.ts";

export type PostgresPlan =
  | { kind: "postgres"; driver: "pg"; url: string; description: string }
  | { kind: "postgres"; driver: "pglite"; dir: string; description: string };

const PGLITE = "pglite:";

function badUrl(detail: string): SessionError {
  return configError(
    `DATABASE_URL ${detail}; use postgres://user:password@host:5432/database for a server, or pglite:./.data/sessions for an embedded database.`,
  );
}

/** The plan for a DATABASE_URL. Opens nothing. */
export function planPostgres(url: string): PostgresPlan {
  if (url.startsWith(PGLITE)) {
    const dir = url.slice(PGLITE.length).trim();
    if (dir === "") throw badUrl(`is "${PGLITE}" with no directory after it`);
    return { kind: "postgres", driver: "pglite", dir, description: `PGlite in ${dir} (DATABASE_URL)` };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl("is not a URL");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw badUrl(`has the scheme "${parsed.protocol}", which cloakroom cannot use`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  const where = `${parsed.host || "the default host"}${database ? `/${database}` : ""}`;
  return { kind: "postgres", driver: "pg", url, description: `PostgreSQL at ${where} (DATABASE_URL)` };
}

async function migrated(query: QueryFunction, plan: PostgresPlan, migrate: boolean, close: () => Promise<void>): Promise<OpenedStore> {
  const store = postgresStore({ query });
  if (migrate) {
    try {
      await store.migrate();
    } catch (error) {
      await close().catch(() => {});
      if (error instanceof SessionError) throw error;
      throw new SessionError(
        "ERR_SESSION_STORE",
        `could not create the session table in ${plan.description.replace(/ \(DATABASE_URL\)$/, "")} (${oneLine(error)}); check DATABASE_URL and that the database is running.`,
        { cause: error },
      );
    }
  }
  return { store, clients: { query }, description: plan.description, close };
}

interface PgModule {
  default: { Pool: typeof import("pg").Pool };
}

export async function openPostgres(plan: PostgresPlan, options: { migrate: boolean; log: EnvLog }): Promise<OpenedStore> {
  if (plan.driver === "pglite") {
    // PGlite makes its directory, but not the parents (and resolves a relative path against the
    // working directory itself). The one node: module of this entry, loaded here only.
    const parent = plan.dir.replace(/[\\/]+$/, "").replace(/[\\/]*[^\\/]+$/, "");
    if (parent !== "") {
      const fs = await loadDriver<typeof import("node:fs")>("node:fs", "DATABASE_URL");
      fs.mkdirSync(parent, { recursive: true });
    }
    const { PGlite } = await loadDriver<typeof import("@electric-sql/pglite")>("@electric-sql/pglite", "DATABASE_URL");
    const db = await PGlite.create(plan.dir);
    return migrated(fromPGlite(db), plan, options.migrate, () => db.close());
  }
  const { default: pg } = await loadDriver<PgModule>("pg", "DATABASE_URL");
  // A short connection timeout: an app that cannot reach its database should say so, not hang.
  // A statement timeout as well: storeFromEnv gives each call a 2 s budget, and this frees the
  // connection of a statement that went on waiting (a lock, a stalled server) past it.
  const pool = new pg.Pool({ connectionString: plan.url, max: 10, connectionTimeoutMillis: 5_000, statement_timeout: 10_000, query_timeout: 10_000 });
  // An idle client that loses its connection emits "error" on the pool; unhandled, that ends
  // the process. The next query gets a fresh connection (or fails, and that request gets 503).
  // One line a minute at most: a restarted database drops every idle client at once.
  let lastLine = -Infinity;
  pool.on("error", (error: Error) => {
    if (Date.now() - lastLine < 60_000) return;
    lastLine = Date.now();
    options.log(`cloakroom: ${plan.description} dropped a connection (${oneLine(error)}); the next query reconnects.`, "warn");
  });
  return migrated(fromPg(pool), plan, options.migrate, () => pool.end());
}
