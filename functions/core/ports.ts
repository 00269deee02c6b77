import type { Channel, Purpose } from './purposes.js';
import type { WindowCounts } from './sms-protection.js';

/**
 * What the core needs from storage. The adapter (adapters/dynamo/) makes every rule hold under
 * concurrency with conditional writes, and reports facts; the core decides what the caller reads.
 */
export interface OtpStore extends IdempotencyStore {
  /** Counts one send against every limit; or, counting it against none, says which limit refused it. */
  reserveSend(request: SendReservation): Promise<SendRefusal | undefined>;
  /** Stores a code, replacing any earlier code for the same target and purpose. */
  saveCode(code: StoredCode): Promise<void>;
  /** Removes a code that could not be delivered, unless a newer code has replaced it. */
  discardCode(code: CodeRef, codeHash: string): Promise<void>;
  /**
   * Counts one attempt before any comparison, within the code's own attempt limit (`maxAttempts`
   * for a code stored without one). With `tokenHash`, only the code that token was issued for is
   * counted; without it, a code that requires its token is not. Either way, a code the request may
   * not use is reported missing and counts nothing.
   */
  recordAttempt(code: CodeRef, now: number, maxAttempts: number, tokenHash?: string): Promise<AttemptOutcome>;
  /**
   * The customer a target belongs to, by the target's lookup item (one read); undefined when none.
   * During a pepper rotation, only on a miss, one more read per other key the target carries.
   */
  findOwner(target: TargetRef): Promise<Owner | undefined>;
  /** A customer by id (consistent read); undefined when there is none. */
  getCustomer(customerId: string): Promise<Customer | undefined>;
  /**
   * Moves a customer stored under its target (before customers were keyed by id) to its id and a
   * lookup item; idempotent and safe under concurrency. Returns its id, or the id of whoever holds
   * the target's lookup item by then.
   */
  migrateLegacyCustomer(target: TargetRef, legacy: Customer): Promise<string>;
  /**
   * Moves the target's lookup item from `previousKey` (the pepper before a rotation) to its current
   * key, and the customer's record of that key with it, in one conditional transaction: idempotent
   * and safe under concurrency. Returns the id of whoever holds the target's current key by then.
   */
  rekeyCustomer(target: TargetRef, owner: Owner & { previousKey: string }): Promise<string>;
  /**
   * Consumes the code and creates the session (and the customer, when the target has no owner) all
   * at once. Throws InvalidCodeError when the code is gone. Returns the customer the session belongs
   * to, which is whoever owns the target when the transaction runs (another login may create it
   * first, an update may move it away).
   */
  completeLogin(login: LoginCompletion): Promise<{ customer: Customer; isNew: boolean }>;
  /**
   * Consumes the code and gives the target to the session's customer, verified: as its second
   * identifier (`replace` false: refused when the customer already has another of that channel) or
   * in place of the one it had. All in one transaction, conditional on the session being live, the
   * target being free or already the customer's, and the customer's identifier being what was read.
   * Throws InvalidCodeError, SessionInvalidError, TargetInUseError or IdentifierExistsError.
   */
  linkTarget(link: TargetLink): Promise<Customer>;
  /**
   * Consecutive failed verifications of a mailbox (the keyed hash of targets.ts `mailboxOf`, like
   * every key named `mailboxKey`); 0 once the window after the last one has passed.
   */
  failures(mailboxKey: string, now: number): Promise<FailureCount>;
  /**
   * Takes a place for one guess in the mailbox's run of wrong codes before any comparison, within
   * `limit` places (wrong codes and guesses reserved, together); or, taking none, says how many wrong
   * codes the run holds and when it lapses. A run lapses `windowMs` after its last wrong code.
   */
  reserveGuess(request: GuessReservation): Promise<GuessReservationOutcome>;
  /**
   * The reserved guess was compared and was wrong: it stays counted, and the run lapses `windowMs`
   * from now. Returns the run's wrong codes (0 when a right code ended the run meanwhile).
   */
  settleWrongGuess(guess: ReservedGuess, now: number, windowMs: number): Promise<number>;
  /** The reserved guess was not compared: its place is given back. */
  releaseGuess(guess: ReservedGuess): Promise<void>;
  /**
   * Gives back an attempt that `recordAttempt` counted for a guess that was then not compared
   * (the target refused it), unless the code has been replaced or consumed meanwhile.
   */
  releaseAttempt(code: CodeRef, codeHash: string): Promise<void>;
  /**
   * Refuses sends to a mailbox until `until`: stamped on the send counters that `reserveSend` checks
   * anyway, so that sends pay no extra read for the lock.
   */
  lockSends(mailboxKey: string, now: number, until: number, cooldownSeconds: number): Promise<void>;
  /**
   * Until `until`, the mailbox's new codes must be token-bound (core/guesses.ts): stamped on its send
   * counters like the lock, so that a send learns it without a read.
   */
  bindNewCodes(mailboxKey: string, now: number, until: number, cooldownSeconds: number): Promise<void>;
  /** The mailbox's run of wrong codes ended: its new codes need no token again. */
  unbindNewCodes(mailboxKey: string, now: number): Promise<void>;
  /** A successful verification ends the run of failures. */
  clearFailures(mailboxKey: string): Promise<void>;
  /**
   * Counts an SMS to a country in its breaker window (on one random shard of it) and returns that
   * shard: a random sample of the window (core/sms-protection.ts, sampleSuggestsTrip).
   */
  countSmsSent(breaker: BreakerWindowRef): Promise<BreakerSample>;
  /** Takes back an SMS that could not be delivered, from the shard that counted it. */
  uncountSmsSent(breaker: BreakerWindowRef, shard: number): Promise<void>;
  /** Counts a verified SMS code in the breaker window it was sent in. */
  countSmsVerified(breaker: BreakerWindowRef): Promise<void>;
  /** Every shard of a country's breaker window and of the window before it, added up (one batch read). */
  breakerWindows(breaker: BreakerWindowRef): Promise<{ current: WindowCounts; previous: WindowCounts }>;
  /** No send judges the window on this shard's sample again before `until` (a verdict was just given). */
  deferBreaker(breaker: BreakerWindowRef, shard: number, until: number): Promise<void>;
  /**
   * Claims a country's breaker trip (at `breaker.at`) until `until`: true for the first claim, false
   * while an earlier one still lasts, so that one trip is logged and counted once, however many
   * sends see it.
   */
  claimBreakerTrip(breaker: BreakerWindowRef, until: number): Promise<boolean>;
  /**
   * Refuses SMS to a country until `until`, stamped on the country's hourly counters that
   * `reserveSend` writes anyway, so that sends pay no extra read for the pause.
   */
  pauseCountry(country: string, now: number, until: number, shards: number): Promise<void>;
  getSession(tokenHash: string): Promise<SessionRecord | undefined>;
  /**
   * Deletes up to `limit` items whose expiry has passed but that TTL has not removed yet, looking
   * back `lookbackHours`; returns how many of each kind (code, send, ip, session, fails).
   */
  removeExpired(now: number, limit: number, lookbackHours: number): Promise<Record<string, number>>;
  /**
   * Revokes a session named by its session token's hash, or (`{ sid }`, as an access token names it)
   * by its id. Revoking a session revokes its refresh family too, so that its refresh token and its
   * access tokens stop working with it. By token: false when the session is unknown, expired or
   * already revoked; a token that no longer validates but is still stored (expired, or rotated away
   * by a refresh) ends its family and the family's current session all the same. By id: false when
   * the family is gone or was revoked already.
   */
  revokeSession(session: string | { sid: string }, now: number): Promise<boolean>;
  /** The refresh token stored under this hash, live or used; undefined when there is none. */
  findRefresh(refreshHash: string): Promise<RefreshRecord | undefined>;
  /**
   * Rotates a refresh token in one transaction: the family moves to the new refresh token and
   * session, the presented token's session is kept as a revoked tombstone (until its own expiry) that
   * still names its family. `reused` when the presented token had already
   * been rotated (the family and its live session are then revoked), `refused` when the family is
   * revoked or its absolute or idle lifetime is over.
   */
  rotateRefresh(rotation: RefreshRotation): Promise<'rotated' | 'reused' | 'refused'>;
  /**
   * A session by its id, as its family records it (one strongly consistent read), live or not;
   * undefined when there is none, or when it was stored before families recorded their sessions.
   */
  findSession(sid: string): Promise<SessionFamily | undefined>;
  /**
   * The customer's sessions whose absolute end is after `now`, revoked ones included (the caller
   * decides what is live), at most `limit`, those that end last first. One eventually consistent
   * Query: a session that began or ended a moment ago may be missing or still there.
   */
  listSessions(customerId: string, now: number, limit: number): Promise<SessionSummary[]>;
  /**
   * Ends every session of the customer that the listing finds: each family is revoked first (no
   * refresh can follow), then its current session is deleted. Returns how many families it ended.
   */
  revokeCustomerSessions(customerId: string, now: number): Promise<number>;
}

/**
 * What a session's family item says about it, as the sessions index holds it: enough to list it and
 * to tell whether it is live. Every session (login) has one, a step-up session too.
 */
export interface SessionSummary {
  sid: string;
  origin: Pick<LoginOrigin, 'clientId' | 'platform'>;
  /** The login (epoch ms). */
  loginAt: number;
  /** When the current session token was issued: the login or the last refresh. */
  lastUsedAt: number;
  /** When the current session token expires. */
  sessionExpiresAt: number;
  /** The family's absolute end: a refresh never extends it. A session without refresh token: its own end. */
  absoluteExpiresAt: number;
  /** A family with a refresh token: not refreshed before this, it ends with its current session. */
  idleUntil?: number;
  revokedAt?: number;
}

/** A session's family item in full: what an access token is checked against. */
export interface SessionFamily extends SessionSummary {
  customerId: string;
  target: string;
  channel: Channel;
  purpose: Purpose;
  /** The OTP verification the session stands on (epoch ms). */
  authTime: number;
}

/** What a login with a refresh token writes besides its session. */
export interface RefreshIssue {
  tokenHash: string;
  /** The refresh family's absolute end, counted from the login. */
  absoluteExpiresAt: number;
  /** A family not refreshed before this ends. */
  idleUntil: number;
  /** The session lifetime of the client that logged in: every refreshed session gets it too. */
  sessionTtlSeconds: number;
}

/** A refresh token as stored: its family (sid) and the session it was issued with. */
export interface RefreshRecord {
  tokenHash: string;
  sid: string;
  session: SessionRecord;
  absoluteExpiresAt: number;
  /** The login's session lifetime; undefined for tokens stored before it was kept. */
  sessionTtlSeconds?: number;
}

export interface RefreshRotation {
  presented: RefreshRecord;
  newRefreshHash: string;
  newSession: SessionRecord;
  now: number;
  idleUntil: number;
}

/** One shard of a country's breaker window, as a send's count left it. */
export interface BreakerSample extends WindowCounts {
  shard: number;
  /** A verdict was given lately: no send judges the window on this shard before then. */
  judgedUntil?: number;
}

/** A country's breaker window at `at` (epoch ms), spread over `shards`. */
export interface BreakerWindowRef {
  country: string;
  at: number;
  windowMs: number;
  shards: number;
}

/** The caps an SMS is counted against besides its target's and its network's (0: that cap is off). */
export interface SmsReservation {
  /** ISO 3166 alpha-2 of the destination. */
  country: string;
  /** The keyed hash of the number block (core/sms-protection.ts, numberBlockOf). */
  blockKey: string;
  perCountryPerHour: number;
  perPrefixPerHour: number;
  perHour: number;
  /** A client's own caps on its SMS (client policy), counted on counters of its own. */
  client?: { id: string; perHour: number; perCountryPerHour: number };
  /** The breaker enforces: a paused country is refused. */
  checkPause: boolean;
  /** How many items the counters that every SMS touches are spread over. */
  shards: number;
}

export interface SendReservation {
  /** The keyed hash of the target's mailbox (targets.ts, mailboxOf): its tags share one count. */
  mailboxKey: string;
  /**
   * The code will be token-bound anyway. Otherwise a mailbox whose new codes must be (core/guesses.ts)
   * refuses the send as `token-bound`, counting nothing, and the caller tries again with a bound code.
   */
  tokenBound: boolean;
  /** An SMS: the caps on SMS spend too. */
  sms?: SmsReservation;
  /** Undefined when the per-IP limit is off or the source IP is unknown. */
  ipKey?: string;
  now: number;
  perHour: number;
  perDay: number;
  perIpPerHour: number;
  cooldownSeconds: number;
}

/**
 * The limit that refused a send, and when it lets the next one through (epoch ms). `contended`: the
 * counters stayed locked by other sends to the same target or network through every retry.
 */
export type SendLimit =
  | 'cooldown'
  | 'target-hourly'
  | 'target-daily'
  | 'target-locked'
  | 'ip-hourly'
  | 'country-hourly'
  | 'prefix-hourly'
  | 'sms-hourly'
  | 'client-country-hourly'
  | 'client-sms-hourly'
  | 'country-paused'
  | 'token-bound'
  | 'contended';

export interface SendRefusal {
  limit: SendLimit;
  until: number;
}

export interface GuessReservation {
  mailboxKey: string;
  now: number;
  /** Places the run may hold at most, this guess's included. */
  limit: number;
  windowMs: number;
}

/** One guess's place in a run of wrong codes. */
export interface ReservedGuess {
  mailboxKey: string;
  /** The run it was taken in: a right code ends a run, and a guess of an ended run counts in no other. */
  run: string;
}

export type GuessReservationOutcome =
  /** `place`: the places the run holds with this one (wrong codes and guesses in flight). */
  | { kind: 'reserved'; guess: ReservedGuess; place: number; expiresAt: number }
  /** No place under the limit: the run's wrong codes, and when it lapses (epoch ms). */
  | { kind: 'refused'; wrongCodes: number; expiresAt: number };

export interface FailureCount {
  count: number;
  /** When the count lapses (epoch ms). */
  expiresAt: number;
}

/** A target's code for one purpose: there is at most one live code per pair. */
export interface CodeRef {
  targetKey: string;
  purpose: Purpose;
}

export interface StoredCode extends CodeRef {
  codeHash: string;
  /** SHA-256 of the send's otpToken. */
  tokenHash: string;
  /**
   * The sending client's rules, kept with the code so that no other client (or anonymous call)
   * verifying it can loosen them: its attempt limit, and whether verify must carry the token.
   */
  maxAttempts: number;
  requireToken: boolean;
  /** The fixed code of a client's test identity: nothing was sent. */
  testTarget?: boolean;
  /** The client a test identity's code was issued to: only its calls may verify it. */
  issuedTo?: string;
  /** verify-* / update-*: the customer whose session asked for the code; only that customer may use it. */
  customerId?: string;
  channel: Channel;
  /** An SMS: its destination country, so that a verify counts in the breaker window of the send. */
  country?: string;
  sentAt: number;
  expiresAt: number;
}

export type AttemptOutcome =
  | {
      kind: 'counted';
      codeHash: string;
      channel: Channel;
      testTarget: boolean;
      issuedTo?: string;
      customerId?: string;
      /** An SMS code stored with its country: when and where it was sent (the breaker's window). */
      sms?: { country: string; sentAt: number };
      /** The code's attempts with this one: 1 for its first. */
      attempts: number;
      /** Only a request with the code's otpToken can count attempts on it. */
      requireToken: boolean;
    }
  /** No code, or an expired one: answered exactly like a wrong code. */
  | { kind: 'missing' }
  | { kind: 'exhausted' };

export const PLATFORMS = ['ios', 'android', 'web', 'other'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Where a login came from: recorded on the session and, as the last one, on the customer. */
export interface LoginOrigin {
  clientId?: string;
  sourceIp?: string;
  platform?: Platform;
}

/** A normalised target and its keyed hash (the only form of it in any key). */
export interface TargetRef {
  targetKey: string;
  address: string;
  channel: Channel;
  /**
   * During a pepper rotation (core/peppers.ts): the target's key under the pepper before the current
   * one, where a customer not yet re-keyed has its lookup item, and under the pepper about to become
   * current, where a function that already holds it as current writes.
   */
  previousKey?: string;
  nextKey?: string;
}

/**
 * Who owns a target: a customer id, or (for a customer stored under its target before customers
 * were keyed by id) the whole legacy customer, which the use case migrates before it writes.
 */
export interface Owner {
  customerId: string;
  legacy?: Customer;
  /**
   * Found by its lookup item under the target's `previousKey` (a pepper rotation): the use case
   * re-keys it (rekeyCustomer) before it writes.
   */
  previousKey?: string;
}

export interface Customer {
  id: string;
  /** At most one of each, every one verified by a code. */
  email: string | null;
  phone: string | null;
  name: string | null;
  createdAt: number;
  /** When the customer's identity was first verified (its first login), not the latest login. */
  verifiedAt: number;
  /** The keyed hashes of its identifiers: the keys of their lookup items. */
  keys: Partial<Record<Channel, string>>;
  /** The session id of the last login: tells a read made during a login from one made after it. */
  lastLoginSid?: string;
  /** The last login (epoch ms) and its origin; how many logins so far. */
  lastLoginAt?: number;
  loginCount?: number;
  lastLogin?: LoginOrigin;
}

export interface SessionRecord {
  tokenHash: string;
  customerId: string;
  target: string;
  channel: Channel;
  purpose: Purpose;
  /**
   * The session id: names the family item that records this login. Every login has one; sessions
   * stored before step-up sessions had families may have none (a step-up one) and are checked alike.
   */
  sid?: string;
  issuedAt: number;
  /** The OTP verification this session stands on (epoch ms). */
  authTime: number;
  expiresAt: number;
  revokedAt?: number;
  origin: LoginOrigin;
}

export interface LoginCompletion {
  code: CodeRef;
  codeHash: string;
  now: number;
  target: TargetRef;
  session: SessionRecord;
  /** The target's owner as read before; undefined: create `newCustomer`. */
  owner?: Owner;
  /** The customer to create when the target has no owner (its id is the session's customerId). */
  newCustomer: Customer;
  /** The refresh token of a full session (login, register). Every login writes a family; this adds the refresh token. */
  refresh?: RefreshIssue;
}

export interface TargetLink {
  code: CodeRef;
  codeHash: string;
  now: number;
  target: TargetRef;
  customerId: string;
  /** The session the request came with: it must still be live when the link is written. */
  sessionHash: string;
  /** update-*: replaces the customer's identifier of this channel; verify-*: adds one. */
  replace: boolean;
}

export interface OutgoingCode {
  channel: Channel;
  to: string;
  code: string;
  purpose: Purpose;
  expiresInSeconds: number;
  appName: string;
  /** BCP 47, as the send request carried it: the language of the text (core/messages.ts). */
  locale?: string;
  /** The calling client's WebOTP domain and SMS Retriever app hash (client policy), for SMS. */
  webOtpDomain?: string;
  androidAppHash?: string;
}

/** One per channel: the local outbox, SNS for SMS, SES for e-mail. */
export interface CodeSender {
  send(message: OutgoingCode): Promise<void>;
}

export type Senders = Record<Channel, CodeSender>;

/**
 * The Idempotency-Key records of sends (core/idempotency.ts), under the keyed hash of the key. A
 * record is `pending` while its send runs (a lease, so that a crashed request does not hold the key
 * for ever) and `done` with the sealed answer until the code's lifetime ends.
 */
export interface IdempotencyStore {
  /**
   * Takes the record for one send in one conditional write: when there is none, or it expired, or it
   * is pending with its lease run out. Undefined when taken; otherwise the record that holds the key,
   * as the refused write found it (no read).
   */
  takeIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyRecord | undefined>;
  /** Stores the sealed answer, if `attempt` still holds the record; false when another took it over. */
  completeIdempotencyKey(completion: IdempotencyCompletion): Promise<boolean>;
  /** Deletes the record if `attempt` still holds it, so that a retry with the key runs afresh. */
  releaseIdempotencyKey(recordKey: string, attempt: string): Promise<void>;
}

export interface IdempotencyClaim {
  /** The keyed hash of the Idempotency-Key: the key itself is never stored. */
  recordKey: string;
  /** The keyed hash of what defines the request: its client and normalised body. */
  fingerprint: string;
  /** Random, names this request's hold on the record. */
  attempt: string;
  now: number;
  leaseUntil: number;
  expiresAt: number;
}

export type IdempotencyRecord =
  | { state: 'pending'; fingerprint: string; leaseUntil: number }
  | { state: 'done'; fingerprint: string; sealed: string; expiresAt: number };

export interface IdempotencyCompletion {
  recordKey: string;
  attempt: string;
  /** The answer, encrypted (core/idempotency.ts sealAnswer). */
  sealed: string;
  /** Until when the answer is replayed: the code's lifetime. */
  expiresAt: number;
}
