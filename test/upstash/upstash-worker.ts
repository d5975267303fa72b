/**
 * Entry of the Worker that runs test/upstash/workerd-cases.ts in workerd: the runner of
 * test/runtimes/worker.ts, with the Worker's bindings (the bridge's URL and token) handed to
 * the cases first, the way a real Worker gets its Upstash credentials.
 */
import { serve } from "../runtimes/worker.ts";
import { useEnv, type BridgeEnv } from "./workerd-cases.ts";

const runner = serve({ "test/upstash/workerd-cases.ts": () => import("./workerd-cases.ts") });

export default {
  fetch(request: Request, env: BridgeEnv): Promise<Response> {
    useEnv(env);
    return runner.fetch(request);
  },
};
