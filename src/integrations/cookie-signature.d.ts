/**
 * The part of cookie-signature (express-session's signing library, CommonJS and untyped) that
 * `adoptExpressSession` uses. Declared here rather than through @types/cookie-signature, which
 * brings Node's types into the Web-standard type check.
 */
declare module "cookie-signature" {
  /** `value.signature`, the signature HMAC-SHA256 in base64 without padding. */
  export function sign(value: string, secret: string): string;
  /** The value, when `input` is `value.signature` under `secret`; false otherwise. */
  export function unsign(input: string, secret: string): string | false;
}
