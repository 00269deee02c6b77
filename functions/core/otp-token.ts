import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { PURPOSES, type Purpose } from './purposes.js';

/**
 * The `otpToken` of a send: an opaque handle of one code that verify accepts in place of the target,
 * and that a client with `requireOtpToken` must present (binding the verify to the device that asked
 * for the code). It is the code's target and purpose sealed with AES-256-GCM under a key derived from
 * the pepper, with 128 random bits inside: verify learns the target without any lookup (no extra
 * round trip), a forged or altered token fails to open, and only the SHA-256 of the token is stored,
 * on the code it belongs to, so a token of a replaced code no longer matches.
 */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const NONCE_BYTES = 16;
/** Longer than any token of a 255-character target; anything longer is not ours. */
export const MAX_OTP_TOKEN_LENGTH = 512;

const keys = new Map<string, Buffer>();

function sealingKey(pepper: string): Buffer {
  let key = keys.get(pepper);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', pepper, Buffer.alloc(0), 'otp-service otpToken v1', 32));
    keys.set(pepper, key);
  }
  return key;
}

export interface IssuedOtpToken {
  token: string;
  /** What the code item keeps. */
  tokenHash: string;
}

export function hashOtpToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export function issueOtpToken(pepper: string, target: string, purpose: Purpose): IssuedOtpToken {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(pepper), iv);
  cipher.setAAD(Buffer.from([VERSION]));
  const plain = Buffer.concat([randomBytes(NONCE_BYTES), Buffer.from(`${purpose}\n${target}`, 'utf8')]);
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
  const token = Buffer.concat([Buffer.from([VERSION]), iv, sealed, cipher.getAuthTag()]).toString('base64url');
  return { token, tokenHash: hashOtpToken(token) };
}

export interface OpenedOtpToken {
  target: string;
  purpose: Purpose;
  tokenHash: string;
}

/** The target and purpose a token was issued for; undefined for anything this service did not issue. */
export function openOtpToken(pepper: string, token: string): OpenedOtpToken | undefined {
  if (token.length > MAX_OTP_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  const raw = Buffer.from(token, 'base64url');
  if (raw.length < 1 + IV_BYTES + NONCE_BYTES + TAG_BYTES || raw[0] !== VERSION) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(pepper), raw.subarray(1, 1 + IV_BYTES));
    decipher.setAAD(Buffer.from([VERSION]));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(raw.subarray(1 + IV_BYTES, raw.length - TAG_BYTES)),
      decipher.final(),
    ]);
    const text = plain.subarray(NONCE_BYTES).toString('utf8');
    const newline = text.indexOf('\n');
    const purpose = text.slice(0, newline) as Purpose;
    if (newline < 0 || !PURPOSES.includes(purpose)) return undefined;
    return { target: text.slice(newline + 1), purpose, tokenHash: hashOtpToken(token) };
  } catch {
    // The authentication tag did not match: altered, truncated or sealed under another pepper.
    return undefined;
  }
}
