/**
 * Reading and checking the name a visitor signs in with, from a JSON or a form body. Kept
 * apart from the routes so every rejection (and its message) is in one place.
 *
 * @module
 */

/** Longest accepted name; the store would take 256, a device list reads better with less. */
export const MAX_USER_LENGTH = 64;

export type LoginInput = { ok: true; user: string } | { ok: false; error: string };

const CONTROL = /\p{Cc}/u;

function checkUser(value: unknown): LoginInput {
  if (typeof value !== "string" || value.trim() === "") {
    return { ok: false, error: 'user is missing; send {"user":"alice"} as JSON or user=alice as a form.' };
  }
  const user = value.trim();
  if (user.length > MAX_USER_LENGTH) {
    return { ok: false, error: `user is ${user.length} characters long; the limit is ${MAX_USER_LENGTH}.` };
  }
  if (CONTROL.test(user)) {
    return { ok: false, error: "user contains control characters; use printable text." };
  }
  return { ok: true, user };
}

/**
 * @example
 * const input = await readLogin(c.req.raw);
 * if (!input.ok) return c.json({ error: input.error }, 400);
 */
export async function readLogin(request: Request): Promise<LoginInput> {
  const type = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase() ?? "";
  if (type === "application/json") {
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return { ok: false, error: 'the body is not valid JSON; send {"user":"alice"}.' };
    }
    return checkUser(typeof body === "object" && body !== null ? (body as { user?: unknown }).user : undefined);
  }
  if (type === "application/x-www-form-urlencoded" || type === "multipart/form-data") {
    try {
      return checkUser((await request.formData()).get("user"));
    } catch {
      return { ok: false, error: "the form body could not be read; send user=alice." };
    }
  }
  return {
    ok: false,
    error: 'send {"user":"alice"} with content-type application/json, or user=alice as application/x-www-form-urlencoded.',
  };
}
