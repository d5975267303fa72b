/**
 * A Worker that calls storeFromEnv(env) the way an application's Worker would: from its `env`
 * bindings, at request time here so each request can pick which bindings it passes on
 * (`?vars=UPSTASH_REDIS_REST_URL,UPSTASH_REDIS_REST_TOKEN`). Signs a session in and reads it
 * back through a second manager, and answers what storeFromEnv chose and logged.
 */
import { storeFromEnv } from "../../env/index.ts";
import { createSessions, generateKey } from "../../src/index.ts";

export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    const names = new URL(request.url).searchParams.get("vars")?.split(",").filter(Boolean) ?? [];
    const picked = Object.fromEntries(names.map((name) => [name, env[name]]));
    const logged: { line: string; level: string }[] = [];
    try {
      const choice = await storeFromEnv(picked, { log: (line, level) => logged.push({ line, level }) });
      const keys = generateKey("worker");
      const first = createSessions({ store: choice.store, keys });
      const session = await first.read(null);
      session.set("visits", 7);
      const cookie = (await first.commit(session))!.split(";")[0]!;
      const visits = (await createSessions({ store: choice.store, keys }).read(cookie)).get("visits");
      await choice.close();
      return Response.json({ ok: true, name: choice.store.name, description: choice.description, logged, visits });
    } catch (error) {
      return Response.json({ ok: false, error: (error as Error).message, logged });
    }
  },
};
