/** Small helpers of the drill's CLI test. */
import { command, freePort } from "../support/redis-server.ts";

export { freePort };

/** Keys under `prefix` on the server at `address` (SCAN). */
export async function keysUnderPrefix(address: { port: number }, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = (await command(address.port, ["SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", 1000])) as [string, string[]];
    cursor = next;
    found.push(...keys);
  } while (cursor !== "0");
  return found;
}
