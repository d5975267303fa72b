/**
 * A small DBSC client on Web Crypto alone (no jose: the server verifies with jose, so the
 * client must not share its code), doing what Chromium does: keep a cookie jar, register an
 * ES256 key when a response carries `Secure-Session-Registration`, and refresh the bound cookie
 * through the 403 challenge. Runs in Node, Bun, Deno and workerd. Its knobs exist to send what
 * a browser never would (a header key on refresh, a wrong alg, another key's signature).
 */

export type Fetcher = (request: Request) => Promise<Response>;

const encoder = new TextEncoder();

function b64url(bytes: Uint8Array | string): string {
  const data = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
  let binary = "";
  for (const byte of data) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export interface DeviceKey {
  privateKey: CryptoKey;
  jwk: { kty: string; crv: string; x: string; y: string };
}

export async function newDeviceKey(): Promise<DeviceKey> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return { privateKey: pair.privateKey, jwk: { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! } };
}

/** A `dbsc+jwt`, signed by `key` (ECDSA P-256 signatures are the JOSE r||s form already). */
export async function proof(key: DeviceKey, jti: string, header: Record<string, unknown> = {}): Promise<string> {
  const input = `${b64url(JSON.stringify({ alg: "ES256", typ: "dbsc+jwt", ...header }))}.${b64url(JSON.stringify({ jti }))}`;
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.privateKey, encoder.encode(input));
  return `${input}.${b64url(new Uint8Array(signature))}`;
}

/** `challenge="..."` and friends out of a structured header value. */
export function param(value: string | null, name: string): string | undefined {
  return value?.match(new RegExp(`${name}="([^"]*)"`))?.[1];
}

export class Browser {
  readonly jar = new Map<string, string>();
  key: DeviceKey | undefined;
  sessionId: string | undefined;
  refreshUrl: string | undefined;
  /** The last registration header seen, for tests that answer it themselves. */
  registration: string | null = null;

  constructor(readonly fetcher: Fetcher, readonly origin = "https://app.test") {}

  get cookie(): string {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  async send(method: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
    const response = await this.fetcher(
      new Request(`${this.origin}${path}`, { method, headers: { ...headers, ...(this.jar.size > 0 && { cookie: this.cookie }) } }),
    );
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const [name, value] = [pair!.slice(0, pair!.indexOf("=")), pair!.slice(pair!.indexOf("=") + 1)];
      if (value === "" || attributes.some((a) => /^\s*max-age=0$/i.test(a))) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const registration = response.headers.get("secure-session-registration");
    if (registration) this.registration = registration;
    return response;
  }

  /** Registers a new key for the last registration header; returns the response. */
  async register(key?: DeviceKey, header?: Record<string, unknown>): Promise<Response> {
    this.key = key ?? (await newDeviceKey());
    const challenge = param(this.registration, "challenge")!;
    const response = await this.send("POST", param(this.registration, "path")!, {
      "secure-session-response": await proof(this.key, challenge, { jwk: this.key.jwk, ...header }),
    });
    if (response.status === 200) {
      const config = (await response.clone().json()) as { session_identifier: string; refresh_url: string };
      this.sessionId = config.session_identifier;
      this.refreshUrl = config.refresh_url;
    }
    return response;
  }

  /** The refresh dance: ask, get a 403 challenge, answer it signed (by `signer`, default the registered key). */
  async refresh(options: { signer?: DeviceKey; header?: Record<string, unknown> } = {}): Promise<{ challenge: string; response: Response }> {
    const asked = await this.send("POST", this.refreshUrl!, { "sec-secure-session-id": this.sessionId! });
    if (asked.status !== 403) return { challenge: "", response: asked };
    const challenge = asked.headers.get("secure-session-challenge")!.match(/^"([^"]+)"/)![1]!;
    const response = await this.answer(challenge, options);
    return { challenge, response };
  }

  async answer(challenge: string, options: { signer?: DeviceKey; header?: Record<string, unknown> } = {}): Promise<Response> {
    return this.send("POST", this.refreshUrl!, {
      "sec-secure-session-id": this.sessionId!,
      "secure-session-response": await proof(options.signer ?? this.key!, challenge, options.header),
    });
  }
}
