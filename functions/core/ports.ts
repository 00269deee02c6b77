import type { Channel, Purpose } from './purposes.js';

/**
 * What the core needs from storage. The adapter (adapters/dynamo/) makes every rule hold under
 * concurrency with conditional writes, and reports facts; the core decides what the caller reads.
 */
export interface OtpStore {
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
  /** The customer a target belongs to, by the target's lookup item (one read); undefined when none. */
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
  /** A successful verification ends the run of failures. */
  clearFailures(mailboxKey: string): Promise<void>;
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

export interface SendReservation {
  /** The keyed hash of the target's mailbox (targets.ts, mailboxOf): its tags share one count. */
  mailboxKey: string;
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
export type SendLimit = 'cooldown' | 'target-hourly' | 'target-daily' | 'target-locked' | 'ip-hourly' | 'contended';

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
}

/**
 * Who owns a target: a customer id, or (for a customer stored under its target before customers
 * were keyed by id) the whole legacy customer, which the use case migrates before it writes.
 */
export interface Owner {
  customerId: string;
  legacy?: Customer;
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
}

/** One per channel: the local outbox, SNS for SMS, SES for e-mail. */
export interface CodeSender {
  send(message: OutgoingCode): Promise<void>;
}

export type Senders = Record<Channel, CodeSender>;
