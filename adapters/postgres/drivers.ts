/**
 * The one thing the Postgres adapter needs from a driver: run a statement with `$1`-style
 * parameters and give back its rows. The helpers here turn the clients applications already
 * have into that function. Each is typed by the methods it calls, so no driver is imported,
 * bundled or required: a Worker that uses Neon's HTTP driver never loads `pg`.
 *
 * None of them opens, configures or closes a connection: the application builds the client
 * and ends it.
 *
 * @module
 */

/** A result row, keyed by column name. */
export type Row = Record<string, unknown>;

/**
 * Runs one statement with positional parameters (`$1`, `$2`, ...) and resolves to its rows.
 * Rejects on any failure: a rejected query is a store fault, never "no session".
 */
export type QueryFunction = (text: string, params: readonly unknown[]) => Promise<{ rows: readonly Row[] }>;

/** What `fromPg` calls: `pg`'s Pool, PoolClient or Client (and Neon's WebSocket Pool/Client, which share the API). */
export interface PgQueryable {
  query(config: { text: string; values: unknown[]; name?: string }): Promise<{ rows: Row[] }>;
}

export interface FromPgOptions {
  /**
   * Use named prepared statements: each connection parses and plans a statement once, then
   * only binds it. The read statement (a CTE that touches when due) costs several times more
   * to parse and plan than to run, so this roughly triples reads per second (see
   * `npm run bench:postgres`); postgres.js prepares by default for the same reason. Turn it
   * off behind a transaction-mode pooler that cannot keep prepared statements (PgBouncer
   * before 1.21, or with `max_prepared_statements = 0`). @default true
   */
  prepare?: boolean;
}

/** FNV-1a, 32 bits: a short stable name per statement text, with no Node crypto. */
function statementName(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return `cloakroom_${(hash >>> 0).toString(36)}_${text.length.toString(36)}`;
}

/**
 * `pg` (node-postgres): a Pool, a PoolClient or a Client. A Pool is the usual choice: the
 * adapter issues single statements, so it never needs a client checked out. Statements are
 * named prepared statements unless `prepare: false`.
 *
 * @example
 * import pg from "pg";
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const store = postgresStore({ query: fromPg(pool) });
 */
export function fromPg(client: PgQueryable, options: FromPgOptions = {}): QueryFunction {
  const prepare = options.prepare !== false;
  const names = new Map<string, string>();
  return async (text, params) => {
    const values = [...params];
    if (!prepare) return client.query({ text, values });
    let name = names.get(text);
    if (name === undefined) names.set(text, (name = statementName(text)));
    return client.query({ name, text, values });
  };
}

/** What `fromPostgresJs` calls: the `sql` function of `postgres` (postgres.js). */
export interface PostgresJsSql {
  // `any[]`: postgres.js types its parameters by its own serialisable-value union, which
  // unknown[] is not assignable to; the values passed are strings, numbers and null.
  unsafe(text: string, params: any[], options: { prepare: boolean }): PromiseLike<readonly Row[]>;
}

/**
 * `postgres` (postgres.js). Statements are sent as prepared statements (postgres.js otherwise
 * asks the server for parameter types first, one more round trip per query); a global
 * `prepare: false` given to `postgres()` still wins, for poolers that need it.
 *
 * @example
 * import postgres from "postgres";
 * const sql = postgres(process.env.DATABASE_URL);
 * const store = postgresStore({ query: fromPostgresJs(sql) });
 */
export function fromPostgresJs(sql: PostgresJsSql): QueryFunction {
  return async (text, params) => ({ rows: await sql.unsafe(text, [...params], { prepare: true }) });
}

/** What `fromNeon` calls: the function `neon()` of `@neondatabase/serverless` returns. */
export interface NeonHttpSql {
  query(text: string, params: unknown[], options: { fullResults: true; arrayMode: false }): PromiseLike<{ rows: Row[] }>;
}

/**
 * `@neondatabase/serverless` over HTTP (`neon()`), for edge runtimes such as Cloudflare
 * Workers: one HTTPS request per statement, no connection to manage. Whatever `arrayMode` or
 * `fullResults` the function was made with, each call asks for rows as objects. For Neon's
 * WebSocket `Pool` or `Client`, use `fromPg`.
 *
 * @example
 * import { neon } from "@neondatabase/serverless";
 * const store = postgresStore({ query: fromNeon(neon(env.DATABASE_URL)) });
 */
export function fromNeon(sql: NeonHttpSql): QueryFunction {
  return async (text, params) => {
    const result = await sql.query(text, [...params], { fullResults: true, arrayMode: false });
    return { rows: result.rows };
  };
}

/** What `fromPGlite` calls: a `PGlite` instance (`@electric-sql/pglite`). */
export interface PGliteQueryable {
  query(text: string, params: unknown[]): Promise<{ rows: Row[] }>;
}

/**
 * `@electric-sql/pglite`: PostgreSQL in WebAssembly, in-process. With a data directory it
 * keeps sessions across restarts with no server; in memory it suits tests. The application
 * owns the instance and must `close()` it, or the process does not exit.
 *
 * @example
 * import { PGlite } from "@electric-sql/pglite";
 * const db = await PGlite.create("./.data/sessions");
 * const store = postgresStore({ query: fromPGlite(db) });
 */
export function fromPGlite(db: PGliteQueryable): QueryFunction {
  return async (text, params) => db.query(text, [...params]);
}
