/**
 * Session ids and the handles stores see.
 *
 * An id is `<tag>.<256 random bits>`; its handle is `<tag>.<base64url(SHA-256(id))>`, which is
 * safe to show ("your devices"), to log and to use as a store key: it cannot be turned back
 * into a cookie. The tag is 4 characters: for a signed-in session it is `userTag(userId)`,
 * for an anonymous one it is random. Every session of a user therefore shares the user's
 * tag, so a Redis Cluster adapter can put a user's sessions and the user's index in one hash
 * slot (`{tag}`) and revoke them all in one atomic script.
 *
 * @module
 */
import { base64url } from "jose";

const TAG = /^[A-Za-z0-9_-]{4}$/;
const SESSION_ID = /^[A-Za-z0-9_-]{4}\.[A-Za-z0-9_-]{43}$/;
const HANDLE = SESSION_ID;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * The 4-character slot tag of a user: 24 bits of FNV-1a over the id's UTF-16 code units.
 * Not a secret and not meant to be one: it routes, it does not protect.
 */
export function userTag(userId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    hash ^= userId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  let tag = "";
  for (let i = 0; i < 4; i++) tag += ALPHABET[(hash >>> (6 * i)) & 63];
  return tag;
}

/** The tag of a session id or a handle. */
export function tagOf(idOrHandle: string): string {
  return idOrHandle.slice(0, 4);
}

export function newSessionId(userId: string | null): string {
  const random = base64url.encode(crypto.getRandomValues(new Uint8Array(35)));
  const tag = userId === null ? random.slice(43, 47) : userTag(userId);
  return `${tag}.${random.slice(0, 43)}`;
}

export async function handleOf(sessionId: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(sessionId));
  return `${tagOf(sessionId)}.${base64url.encode(new Uint8Array(digest))}`;
}

/** A fresh session id (under the user's tag, or a random one) with its handle. */
export interface DrawnId {
  sid: string;
  handle: string;
}

export async function drawId(userId: string | null): Promise<DrawnId> {
  const sid = newSessionId(userId);
  return { sid, handle: await handleOf(sid) };
}

export function isSessionId(value: unknown): value is string {
  return typeof value === "string" && SESSION_ID.test(value);
}

/** Handles arrive from URLs ("sign out that device"); check the shape before any store call. */
export function isHandle(value: unknown): value is string {
  return typeof value === "string" && HANDLE.test(value);
}

export function isTag(value: unknown): value is string {
  return typeof value === "string" && TAG.test(value);
}
