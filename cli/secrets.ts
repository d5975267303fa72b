/**
 * Keeping secrets out of what the CLI prints. Two layers, because either alone misses some:
 *
 * - by shape: every URL in a line has its password masked, in the userinfo (`user:***@`, the
 *   whole userinfo of an Upstash URL, its token) and in a `password=` query parameter (libpq's
 *   `?password=`, which pg and postgres.js read), whoever wrote the line (a driver's message too);
 * - by value: every secret the command was given (passwords, tokens, key secrets) is masked
 *   wherever it appears. A short one (under 4 characters) only where it stands alone, between
 *   characters that cannot continue it (`:ab@`, `"ab"`, `=ab&`), or it would eat pieces of
 *   ordinary words; a one-character secret can still mask a lone digit in a count.
 *
 * @module
 */

const MASK = "***";
const SHORT = 4;
/** Query parameters that carry a password: libpq's `password`, and `sslpassword` for a client key. */
const PASSWORD_PARAM = /([?&](?:ssl)?password=)[^&#\s]*/gi;
/** `scheme://` and the authority up to the last `@` before the path, as URL parsers split it. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#\s]*)@/i;
/** A URL inside a line of text: up to whitespace, a quote or a closing bracket. */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>()[\]{}]+/gi;

/** The URL with its password (or Upstash token) replaced by ***, for printing. */
export function maskUrl(url: string): string {
  return url
    .replace(USERINFO, (_, scheme: string, userinfo: string) => {
      if (/^https?:/i.test(scheme)) return `${scheme}${MASK}@`;
      const colon = userinfo.indexOf(":");
      return colon < 0 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:${MASK}@`;
    })
    .replace(PASSWORD_PARAM, `$1${MASK}`);
}

const decoded = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

/** The passwords a connection URL carries, as written and decoded: to register as secrets. */
export function urlSecrets(url: string | undefined): string[] {
  if (!url) return [];
  const found: string[] = [];
  const userinfo = USERINFO.exec(url)?.[2];
  const colon = userinfo?.indexOf(":") ?? -1;
  if (userinfo !== undefined && colon >= 0) found.push(userinfo.slice(colon + 1));
  for (const match of url.matchAll(PASSWORD_PARAM)) found.push(match[0].slice(match[1]!.length));
  return found.filter(Boolean).flatMap((secret) => [secret, decoded(secret)]);
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Masks, by shape and by value, every secret `add` was told about. */
export function createRedactor(): { add(...values: (string | undefined)[]): void; redact(text: string): string } {
  const secrets = new Set<string>();
  let masks: ((text: string) => string)[] = [];
  return {
    add(...values) {
      for (const value of values) if (value) secrets.add(value);
      // Longest first, so a secret that contains another is masked whole.
      masks = [...secrets].sort((a, b) => b.length - a.length).map((secret) => {
        if (secret.length >= SHORT) return (text: string) => text.split(secret).join(MASK);
        const alone = new RegExp(`(?<![A-Za-z0-9])${escaped(secret)}(?![A-Za-z0-9])`, "g");
        return (text: string) => text.replace(alone, MASK);
      });
    },
    redact(text) {
      let masked = text.replace(URL_IN_TEXT, maskUrl);
      for (const mask of masks) masked = mask(masked);
      return masked;
    },
  };
}
