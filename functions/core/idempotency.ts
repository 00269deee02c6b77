import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { CoreDeps } from './deps.js';
import { LINK_PURPOSES } from './customers.js';
import { IdempotencyKeyReusedError, RequestInProgressError } from './errors.js';
import type { IdempotencyStore } from './ports.js';
import type { SendRequest, SendResult } from './send-code.js';
import { normaliseTarget } from './targets.js';

/**
 * `Idempotency-Key` on send (API.md, POST /v1/otp/send): a request retried after a flaky mobile
 * network gets the first answer again instead of a second SMS. The key holds a record taken by one
 * conditional write before the send runs; the send's answer is sealed onto it, and the key is given
 * back when the send fails, so that a failure never poisons it.
 */

/** 1..255 printable ASCII, as the contract says. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7E]{1,255}$/;

/**
 * How long a pending record holds its key. Longer than the send function's timeout
 * (lib/function-defaults.ts, 10 s), so that a request still running is never taken over; short enough
 * that a crashed one frees its key soon.
 */
export const IDEMPOTENCY_LEASE_MS = 30_000;

const SEAL_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The record's key: a keyed hash of the Idempotency-Key, so that the key (which the app may derive
 * from anything) never reaches the table. The construction of opaqueKey (codes.ts) with a label of
 * its own.
 */
export function idempotencyRecordKey(pepper: string, key: string): string {
  return createHmac('sha256', pepper).update(`idempotency\0${key}`).digest('base64url').slice(0, 32);
}

/**
 * What defines a send: the calling client and the normalised request (target, channel, purpose,
 * locale), and for the purposes that act on a session, the session token it came with. Two spellings
 * of one target are one request. Keyed with the pepper: a phone number is guessable, its hash must
 * not be.
 */
export function sendFingerprint(pepper: string, request: SendRequest, locale: string | undefined): string {
  const target = normaliseTarget(request.target, request.channel);
  const session = LINK_PURPOSES[request.purpose] ? (request.sessionToken?.() ?? null) : null;
  const canonicalLocale = locale === undefined ? null : (Intl.getCanonicalLocales(locale)[0] ?? locale);
  const defining = [
    'v1',
    request.clientId ?? null,
    target.channel,
    target.address,
    request.purpose,
    canonicalLocale,
    session,
  ];
  return createHmac('sha256', pepper).update(JSON.stringify(defining)).digest('base64url');
}

/**
 * The AES-256-GCM key of one record's answer: derived from the pepper and the Idempotency-Key itself,
 * which the table never holds. Whoever reads the table, even with the pepper, cannot open an answer
 * without the key the app sent.
 */
function sealingKey(pepper: string, key: string): Buffer {
  return createHmac('sha256', pepper).update(`idempotency-seal\0${key}`).digest();
}

/** The answer as stored: encrypted, and bound (as associated data) to its record. */
export function sealAnswer(pepper: string, key: string, result: SendResult): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(pepper, key), iv);
  cipher.setAAD(Buffer.from(`${SEAL_VERSION}\0${idempotencyRecordKey(pepper, key)}`));
  const sealed = Buffer.concat([cipher.update(JSON.stringify(result), 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([SEAL_VERSION]), iv, sealed, cipher.getAuthTag()]).toString('base64url');
}

/** The stored answer; undefined when it does not open with this key and pepper. */
export function openAnswer(pepper: string, key: string, sealed: string): SendResult | undefined {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < 1 + IV_BYTES + TAG_BYTES || raw[0] !== SEAL_VERSION) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(pepper, key), raw.subarray(1, 1 + IV_BYTES));
    decipher.setAAD(Buffer.from(`${SEAL_VERSION}\0${idempotencyRecordKey(pepper, key)}`));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(raw.subarray(1 + IV_BYTES, raw.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return JSON.parse(plain.toString('utf8')) as SendResult;
  } catch {
    return undefined;
  }
}

export interface IdempotentSend {
  /** The Idempotency-Key header; without one the send runs as it would, and pays nothing more. */
  key: string | undefined;
  request: SendRequest;
}

export interface SendOutcome {
  result: SendResult;
  /** The answer of an earlier request with the same key: nothing was sent, no limit counted. */
  replayed: boolean;
}

/**
 * Runs `send` (core/send-code.ts sendCode) at most once per Idempotency-Key within the code's
 * lifetime. Throws IdempotencyKeyReusedError for the key with another request, RequestInProgressError
 * while the first request with it runs, and whatever `send` throws (having given the key back).
 */
export async function sendIdempotently(
  deps: CoreDeps<IdempotencyStore>,
  { key, request }: IdempotentSend,
  send: (request: SendRequest) => Promise<SendResult>,
): Promise<SendOutcome> {
  if (key === undefined) return { result: await send(request), replayed: false };
  const { config, store } = deps;
  // A malformed target fails here, before the key is taken: nothing to give back.
  const fingerprint = sendFingerprint(config.pepper, request, request.locale);
  const recordKey = idempotencyRecordKey(config.pepper, key);
  const now = deps.now();
  const attempt = randomUUID();
  const leaseUntil = now + IDEMPOTENCY_LEASE_MS;
  const expiresAt = now + config.codeTtlSeconds * 1000;

  const held = await store.takeIdempotencyKey({
    recordKey,
    fingerprint,
    attempt,
    now,
    leaseUntil,
    // A pending record outlives its lease even for codes that live shorter, so that neither TTL nor
    // the cleanup removes it under a request still running.
    expiresAt: Math.max(expiresAt, leaseUntil),
  });
  if (held) {
    // Another request holds the key (the store hands over only live records): never its answer to
    // another request; wait while it runs; the same request gets the first answer again.
    if (held.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
    if (held.state === 'pending') throw new RequestInProgressError();
    const result = openAnswer(config.pepper, key, held.sealed);
    // Only a corrupt item gets here: a record is found under the same key and pepper that seal it.
    if (!result) throw new Error('The stored answer of an Idempotency-Key does not open.');
    return { result, replayed: true };
  }

  let result: SendResult;
  try {
    result = await send(request);
  } catch (error) {
    await store.releaseIdempotencyKey(recordKey, attempt).catch((releaseError: unknown) => {
      // The lease frees the key soon anyway; the caller must hear the send's own failure.
      deps.log.warn('idempotency key not released', { reason: errorName(releaseError) });
    });
    throw error;
  }

  // The code is sent: the caller gets its answer even if it cannot be kept for replays (a retry
  // then finds the key pending until the lease ends, and sends anew after it).
  try {
    const sealed = sealAnswer(config.pepper, key, result);
    if (!(await store.completeIdempotencyKey({ recordKey, attempt, sealed, expiresAt }))) {
      deps.log.warn('idempotency key taken over before the send completed', {});
    }
  } catch (error) {
    deps.log.warn('idempotency answer not stored', { reason: errorName(error) });
  }
  return { result, replayed: false };
}

const errorName = (error: unknown) => (error instanceof Error ? error.name : 'unknown');
