/**
 * `cloakroom drill --sentinels host:port,... --name mymaster`: the failover drill against a
 * running deployment's Redis (cli/drill/sentinel-drill.ts), with the figures and goals
 * `npm run drill` prints. It fails over the primary for real, so it asks first.
 */
import { parseAddresses } from "../../env/redis.ts";
import { FIGURES_HEADER, FIGURES_LEGEND, figuresRow } from "../drill/figures.ts";
import { sentinelDrill } from "../drill/sentinel-drill.ts";
import { EXIT, integerOption, option, usageError, type Command } from "../shell.ts";

export const drill: Command = {
  name: "drill",
  summary: "fail the Sentinel primary over under load and print the drill's figures",
  help: `Usage: cloakroom drill --sentinels <host:port,...> --name <master> [--yes] [--visitors <n>]
                       [--workers <n>] [--warm <ms>] [--after <ms>] [--timeout <ms>]

The failover drill, against your running deployment: visitors sign in and read and write
sessions (under a key prefix of the drill's own, deleted afterwards) while the sentinels are told
to fail the primary over (SENTINEL FAILOVER). Prints the figures npm run drill prints, and the
goals: a successful write within 5 s, failed reads under 1 %, no session lost, nobody signed out.
Exit 0 when every goal is met, 1 when one is missed, 2 when the deployment cannot be reached or
cannot fail over now (no quorum, no healthy replica). It asks before it starts, unless --yes.

  --sentinels <list>  the sentinels, host:port,host:port (default REDIS_SENTINELS)
  --name <master>     the master name they monitor (default REDIS_SENTINEL_NAME)
  --yes               do not ask
  --visitors <n>      signed-in visitors (default 50)      --workers <n>  in parallel (default 4)
  --warm <ms>         load before the failover (default 2000)
  --after <ms>        load after the new primary answers (default 5000)
  --timeout <ms>      how long the sentinels may take (default 30000)
REDIS_USERNAME, REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD are read as the application reads them.`,
  options: {
    sentinels: { type: "string" }, name: { type: "string" }, yes: { type: "boolean", short: "y" }, visitors: { type: "string" },
    workers: { type: "string" }, warm: { type: "string" }, after: { type: "string" }, timeout: { type: "string" },
  },
  async run(args, io) {
    const list = option(args, "sentinels") ?? io.env.REDIS_SENTINELS?.trim();
    const name = option(args, "name") ?? io.env.REDIS_SENTINEL_NAME?.trim();
    if (!list) throw usageError("drill needs the sentinels: --sentinels host:port,host:port (or REDIS_SENTINELS).");
    if (!name) throw usageError("drill needs the master name the sentinels monitor: --name mymaster (or REDIS_SENTINEL_NAME).");
    let sentinels;
    try {
      sentinels = parseAddresses(list, "--sentinels");
    } catch (error) {
      throw usageError((error as Error).message.replace(/^cloakroom: /, ""));
    }
    const visitors = integerOption(args, "visitors", 50, 1, 100_000);
    const workers = integerOption(args, "workers", 4, 1, 1000);
    const warmMs = integerOption(args, "warm", 2000, 0, 3_600_000);
    const afterMs = integerOption(args, "after", 5000, 0, 3_600_000);
    const timeoutMs = integerOption(args, "timeout", 30_000, 1000, 3_600_000);
    io.secret(io.env.REDIS_PASSWORD, io.env.REDIS_SENTINEL_PASSWORD);

    if (!args.values.yes) {
      const answer = await io.ask(
        `This fails over master ${JSON.stringify(name)} (SENTINEL FAILOVER via ${sentinels.map((s) => `${s.host}:${s.port}`).join(", ")}) ` +
          `while ${visitors} drill visitors use it. Type yes to go on: `,
      );
      if (!/^y(es)?$/i.test(answer?.trim() ?? "")) {
        io.err("cloakroom drill: not confirmed, nothing was done (pass --yes to skip the question).");
        return EXIT.failed;
      }
    }
    const started = performance.now();
    const { figures } = await sentinelDrill({
      sentinels, name, visitors, workers, warmMs, afterMs, timeoutMs,
      ...(io.env.REDIS_USERNAME ? { username: io.env.REDIS_USERNAME } : {}),
      ...(io.env.REDIS_PASSWORD ? { password: io.env.REDIS_PASSWORD } : {}),
      ...(io.env.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: io.env.REDIS_SENTINEL_PASSWORD } : {}),
      log: (line) => io.err(line),
    });
    io.out(FIGURES_HEADER);
    io.out(figuresRow("SENTINEL FAILOVER", figures));
    io.out("");
    const goals = [
      { name: "a successful write within 5 s", met: figures.firstWriteS <= 5, figure: `${figures.firstWriteS.toFixed(2)} s` },
      { name: "failed reads < 1 %", met: figures.readsFailedPct < 1, figure: `${figures.readsFailedPct.toFixed(2)} %` },
      { name: "0 sessions lost", met: figures.sessionsLost === 0, figure: String(figures.sessionsLost) },
      { name: "0 logouts", met: figures.logouts === 0, figure: String(figures.logouts) },
      { name: "0 stale reads", met: figures.staleReads === 0, figure: String(figures.staleReads) },
    ];
    io.out("Goals:");
    for (const goal of goals) io.out(`  ${(goal.met ? "met" : "MISSED").padEnd(6)}  ${goal.name}: ${goal.figure}`);
    io.out(`longest wait of a served request: ${figures.longestStallS.toFixed(2)} s; ${((performance.now() - started) / 1000).toFixed(0)} s in all.`);
    for (const line of FIGURES_LEGEND) io.out(line);
    return goals.every((goal) => goal.met) ? EXIT.ok : EXIT.failed;
  },
};
