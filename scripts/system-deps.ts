/**
 * The Debian packages `npm test` needs, and bringing them before any test runs. As root with
 * apt-get (a CI machine, a container, this kind of VM) the missing ones are installed; anyone
 * else gets one line naming the command to run, and no test starts. A browser or a binary is
 * never downloaded by anything else.
 *
 * A runner that needs a system package adds one entry to `systemPackages`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";

const sbin = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

/** Whether `command` is on PATH (or in the sbin directories a minimal root PATH may lack). */
export function onPath(command: string, path = process.env.PATH ?? ""): boolean {
  return [...path.split(delimiter), ...sbin].some((dir) => dir && existsSync(join(dir, command)));
}

function postgresBinaries(): boolean {
  const root = "/usr/lib/postgresql";
  return (existsSync(root) && readdirSync(root).some((version) => existsSync(join(root, version, "bin", "initdb")))) || onPath("initdb");
}

export interface SystemPackage {
  /** The Debian package. */
  name: string;
  present: () => boolean;
  /** Which tests need it, for the message. */
  why: string;
}

export interface EnsureOptions {
  packages?: SystemPackage[];
  isRoot?: boolean;
  hasApt?: boolean;
  run?: (command: string, args: string[]) => number;
  log?: (line: string) => void;
}

export const systemPackages: SystemPackage[] = [
  {
    name: "chromium",
    present: () => existsSync("/usr/bin/chromium"),
    why: "the browser tests (test/browser) drive Debian's /usr/bin/chromium through playwright-core",
  },
  {
    name: "libnss3-tools",
    present: () => onPath("certutil"),
    why: "the DBSC browser test (test/browser/dbsc.test.ts) trusts its throwaway CA in an NSS database with certutil",
  },
  {
    // Not in every minimal image (Debian's base has libssl but not the openssl command).
    name: "openssl",
    present: () => onPath("openssl"),
    why: "the DBSC browser test makes a throwaway CA and a localhost certificate with openssl",
  },
  {
    name: "redis-server",
    present: () => onPath("redis-server") && onPath("redis-cli"),
    why: "the Redis adapter tests start standalone, Sentinel and Cluster servers of their own",
  },
  {
    name: "postgresql",
    present: postgresBinaries,
    why: "the Postgres adapter tests initdb a throwaway cluster each",
  },
];

/**
 * Installs what is missing, or explains how. Returns null when everything is present (or was
 * installed), else the one line to print before stopping.
 */
export function ensureSystemPackages(options: EnsureOptions = {}): string | null {
  const {
    packages = systemPackages,
    isRoot = process.getuid?.() === 0,
    hasApt = onPath("apt-get"),
    run = (command, args) => spawnSync(command, args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }).status ?? 1,
    log = (line) => console.log(line),
  } = options;
  const missing = packages.filter((pkg) => !pkg.present());
  if (missing.length === 0) return null;
  const names = missing.map((pkg) => pkg.name);
  const command = `apt-get install -y ${names.join(" ")}`;
  if (!isRoot || !hasApt) {
    return `npm test needs the Debian package${names.length > 1 ? "s" : ""} ${names.join(", ")} (${missing.map((pkg) => pkg.why).join("; ")}): run \`sudo ${command}\`, then npm test again.`;
  }
  log(`── installing ${names.join(", ")} (${missing.map((pkg) => pkg.why).join("; ")})`);
  const installed = run("apt-get", ["update", "-qq"]) === 0 && run("apt-get", ["install", "-y", "-qq", ...names]) === 0;
  const stillMissing = missing.filter((pkg) => !pkg.present()).map((pkg) => pkg.name);
  if (installed && stillMissing.length === 0) return null;
  return `npm test could not install ${stillMissing.join(", ") || names.join(", ")} with apt-get; run \`${command}\` and read its output, then npm test again.`;
}
