/**
 * Runs several replay-appender.ts processes against one channel at once and returns every
 * sequence number they got. Test harness only.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const appender = fileURLToPath(new URL("./replay-appender.ts", import.meta.url));

export async function appendFromProcesses(args: { kind: "redis" | "postgres"; url: string; namespace: string; channel: string; processes: number; each: number }): Promise<number[]> {
  const children = Array.from({ length: args.processes }, () =>
    spawn(process.execPath, [appender, args.kind, args.url, args.namespace, args.channel, String(args.each)], { stdio: ["pipe", "pipe", "pipe"] }),
  );
  const outputs = children.map((child) => {
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on("data", () => out.includes("ready\n") && resolve());
      child.once("exit", (code) => reject(new Error(`appender exited with ${code} before it was ready:\n${err}`)));
    });
    const done = new Promise<number[]>((resolve, reject) => {
      child.once("exit", (code) => {
        const line = out.split("\n").find((text) => text.startsWith("["));
        if (code === 0 && line) resolve(JSON.parse(line) as number[]);
        else reject(new Error(`appender exited with ${code}:\n${err}`));
      });
    });
    return { ready, done };
  });
  await Promise.all(outputs.map((output) => output.ready));
  for (const child of children) child.stdin.end("go\n");
  return (await Promise.all(outputs.map((output) => output.done))).flat();
}
