/**
 * For any `(Request) => Response` server with no framework: `Bun.serve`, `Deno.serve`, a
 * Worker's `fetch`. Reads the session, runs the handler, commits, and sets the cookie on the
 * handler's response. A store fault answers 503 (or goes on anonymous, by policy); it never
 * reads as "signed out".
 *
 * @example
 * Bun.serve({
 *   fetch: withSession(sessions, async (request, session) => {
 *     session.update("count", (n = 0) => n + 1);
 *     return Response.json({ count: session.get("count") });
 *   }),
 * });
 *
 * @module
 */
import { SessionError } from "../errors.ts";
import { checkManager, resolvePolicy } from "./binding-policy.ts";
import { sessionCacheControl } from "./private-response.ts";
import { isUnavailable, unavailableResponse } from "./unavailable.ts";
import type { Sessions } from "../manager.ts";
import type { Session } from "../session.ts";

export interface WithSessionOptions {
  /** @default "fail-closed" */
  onStoreError?: "fail-closed" | "anonymous";
  /** The response when the store fails (fail-closed). @default a 503 JSON answer with Retry-After: 1 */
  onUnavailable?: (request: Request, error: SessionError) => Response | Promise<Response>;
}

/**
 * The handler's response with the session's Set-Cookie values and Cache-Control
 * (private-response.ts). Responses from `fetch()` have immutable headers: such a one is copied
 * before adding to it.
 */
function withSessionHeaders(response: Response, session: Session<object>, setCookies: string[]): Response {
  const cacheControl = sessionCacheControl(session, setCookies.length > 0, response.headers.get("cache-control"));
  if (setCookies.length === 0 && !cacheControl) return response;
  const add = (out: Response) => {
    for (const setCookie of setCookies) out.headers.append("set-cookie", setCookie);
    if (cacheControl) out.headers.set("cache-control", cacheControl);
    return out;
  };
  try {
    return add(response);
  } catch {
    return add(new Response(response.body, response));
  }
}

export function withSession<Data extends object = Record<string, unknown>, Extra extends unknown[] = []>(
  sessions: Sessions<Data>,
  handler: (request: Request, session: Session<Data>, ...extra: Extra) => Response | Promise<Response>,
  options: WithSessionOptions = {},
): (request: Request, ...extra: Extra) => Promise<Response> {
  checkManager(sessions, "withSession");
  if (typeof handler !== "function") {
    throw new SessionError("ERR_SESSION_CONFIG", "withSession needs a handler (request, session) => Response.");
  }
  const readOptions = resolvePolicy(options, "withSession", "(request, error) => Response");
  const unavailable = options.onUnavailable ?? unavailableResponse;

  const dbsc = sessions.deviceBound;
  return async (request, ...extra) => {
    // Device-bound sessions: the registration and refresh endpoints are served here.
    if (dbsc?.matches(request)) {
      try {
        return await dbsc.handle(request);
      } catch (error) {
        if (isUnavailable(error)) return unavailable(request, error);
        throw error;
      }
    }
    let session: Session<Data>;
    try {
      session = await sessions.read(request, readOptions);
    } catch (error) {
      if (isUnavailable(error)) return unavailable(request, error);
      throw error;
    }
    // A handler that throws has its changes dropped: the error propagates, nothing is saved.
    const response = await handler(request, session, ...extra);
    let setCookies: string[];
    try {
      setCookies = await sessions.commitCookies(session);
    } catch (error) {
      if (isUnavailable(error)) return unavailable(request, error);
      throw error;
    }
    const out = withSessionHeaders(response, session, setCookies);
    const registration = setCookies.length > 0 ? await dbsc?.registrationHeader(session) : null;
    if (registration) out.headers.set("secure-session-registration", registration);
    return out;
  };
}
