/**
 * A throwaway PostgreSQL server for the tests and the bench: `initdb` into a temporary
 * directory, started on a free loopback port with its socket in that directory, stopped with
 * `pg_ctl stop -m fast` on its own data directory. Nothing else is ever touched: not the
 * machine's own PostgreSQL on 5432, not a server another test file started.
 *
 * `DATABASE_URL` points the tests at an existing server instead; callers then use a table
 * name of their own (`uniqueTable`) and drop only that.
 *
 * A missing PostgreSQL fails the run, in CI and outside it, with how to install it: an
 * adapter that was never run against PostgreSQL is not tested.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopOnProcessEnd } from "./process-cleanup.ts";

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`, or DATABASE_URL. */
  url: string;
  /** True when DATABASE_URL named a server this harness did not start (and must not stop). */
  external: boolean;
  /** PID of the postmaster this harness started, and its temporary directory; undefined for DATABASE_URL. */
  pid?: number;
  dir?: string;
  /** Stops the server this harness started and removes its directory; a no-op for DATABASE_URL. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  "PostgreSQL's initdb and pg_ctl were not found (looked in /usr/lib/postgresql/*/bin, `pg_config --bindir` and PATH). " +
  "Install the server (Debian/Ubuntu: apt-get install -y postgresql; macOS: brew install postgresql@16), " +
  "or set DATABASE_URL=postgres://user@host:port/db to run the tests on a server you have.";

/** Directory holding initdb and pg_ctl: the newest Debian cluster version first, then pg_config, then PATH. */
function binDir(): string | undefined {
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const dir = join(debian, version, "bin");
      if (existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"))) return dir;
    }
  }
  const config = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  const dir = config.status === 0 ? config.stdout.trim() : "";
  if (dir && existsSync(join(dir, "initdb"))) return dir;
  if (spawnSync("initdb", ["--version"]).status === 0) return "";
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * initdb and postgres refuse to run as root, so as root they run as the `postgres` user
 * (which owns the directory); as anyone else, as that user.
 */
function runAs(bin: string, args: string[]): { status: number | null; output: string } {
  const asRoot = process.getuid?.() === 0;
  // runuser lives in /usr/sbin, which a minimal PATH may lack.
  const runuser = ["/usr/sbin/runuser", "/sbin/runuser"].find((path) => existsSync(path)) ?? "runuser";
  const [command, argv] = asRoot ? [runuser, ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  const run = spawnSync(command, argv, { encoding: "utf8", timeout: 60_000 });
  return { status: run.status, output: `${run.error?.message ?? ""}${run.stdout ?? ""}${run.stderr ?? ""}` };
}


export interface StartOptions {
  /** Extra server settings (`-c name=value`), for example `{ shared_buffers: "1GB" }` for the bench. */
  settings?: Record<string, string>;
}

/**
 * Starts a server (or returns DATABASE_URL's). Call `stop()` in afterAll.
 *
 * @example
 * const server = await startPostgres();
 * const pool = new pg.Pool({ connectionString: server.url });
 */
export async function startPostgres(startOptions: StartOptions = {}): Promise<PostgresServer> {
  const fromEnv = process.env.DATABASE_URL?.trim();
  if (fromEnv) return { url: fromEnv, external: true, stop: async () => {} };

  const dir = binDir();
  if (dir === undefined) {
    throw new Error(`cloakroom tests: ${INSTALL_HINT}${process.env.CI === "true" ? " (CI=true: a missing PostgreSQL fails the run)" : ""}`);
  }
  const bin = (name: string) => (dir ? join(dir, name) : name);
  const asRoot = process.getuid?.() === 0;

  // mkdtemp makes a 0700 directory the postgres user cannot enter: open it up, and give that
  // user the part it writes (data directory, socket, log).
  const work = mkdtempSync(join(tmpdir(), "cloakroom-pg-"));
  chmodSync(work, 0o755);
  const home = join(work, "pg");
  mkdirSync(home);
  if (asRoot) {
    const id = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    if (id.status !== 0) throw new Error("cloakroom tests: running as root, but there is no `postgres` user to run the server as.");
    chownSync(home, Number(id.stdout), Number(gid.stdout));
  }
  const data = join(home, "data");
  const log = join(home, "log");

  const init = runAs(bin("initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"]);
  if (init.status !== 0) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`cloakroom tests: initdb failed:\n${init.output}`);
  }

  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    forget();
    if (existsSync(join(data, "postmaster.pid"))) runAs(bin("pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"]);
    rmSync(work, { recursive: true, force: true });
  };
  // Stopped also when the test process ends without afterAll: on exit, SIGTERM, SIGINT or
  // SIGHUP (process-cleanup.ts; a SIGKILLed runner runs nothing, see there). pg_ctl stops the
  // server whose PID its data directory's postmaster.pid names: only this one.
  const forget = stopOnProcessEnd(stopSync);

  // A port found free can be taken before postgres binds it; a few attempts cover that race.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    // Durability settings off: this data lives for one test run (the bench states it too).
    const options = [
      `-p ${port}`, `-k ${home}`, "-c listen_addresses=127.0.0.1",
      "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
      ...Object.entries(startOptions.settings ?? {}).map(([name, value]) => `-c ${name}=${value}`),
    ].join(" ");
    const start = runAs(bin("pg_ctl"), ["-D", data, "-l", log, "-w", "-t", "30", "-o", options, "start"]);
    if (start.status === 0) {
      // postmaster.pid's first line is the postmaster's PID.
      const pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
      return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, external: false, pid, dir: work, stop: async () => stopSync() };
    }
    if (attempt === 3) {
      const serverLog = existsSync(log) ? readFileSync(log, "utf8") : "";
      stopSync();
      throw new Error(`cloakroom tests: PostgreSQL did not start:\n${start.output}\n${serverLog}`);
    }
  }
}

/** A table name no other test run uses, for a shared DATABASE_URL server. */
export function uniqueTable(prefix = "cloakroom_test"): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
