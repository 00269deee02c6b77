import { generateCode, hashCode, opaqueKey } from './codes.js';
import { targetRef } from './peppers.js';
import { type EffectiveConfig, testCodeFor } from './client-policy.js';
import type { SendDeps } from './deps.js';
import { channelMismatch, identifierOf, LINK_PURPOSES } from './customers.js';
import {
  ChannelNotAllowedError,
  DeliveryFailedError,
  IdentifierExistsError,
  InvalidTargetError,
  RateLimitedError,
  type RateLimitReason,
} from './errors.js';
import { ipBucket } from './network.js';
import { issueOtpToken } from './otp-token.js';
import type {
  BreakerSample,
  BreakerWindowRef,
  CodeRef,
  OtpStore,
  SendLimit,
  SendRefusal,
  SendReservation,
} from './ports.js';
import type { Channel, Purpose } from './purposes.js';
import { checkSession } from './sessions.js';
import { mailboxOf, maskTarget, normaliseTarget, type Target } from './targets.js';
import { breakerVerdict, breakerWindowOf, numberBlockOf, sampleSuggestsTrip } from './sms-protection.js';
import { secondsUntil } from './windows.js';

export interface SendRequest {
  target: string;
  purpose: Purpose;
  channel?: Channel;
  sourceIp?: string;
  /** The calling client, to whom a test identity's code is bound. */
  clientId?: string;
  /** The session token the request came with, read only by verify-* and update-* (verify-code.ts). */
  sessionToken?: () => string | undefined;
  /** BCP 47: the language of the message (core/messages.ts). */
  locale?: string;
}

export interface SendResult {
  otpType: Channel;
  expiresIn: number;
  resendAfter: number;
  /** Opaque handle of this code, accepted by verify in place of the target (otp-token.ts). */
  otpToken: string;
  /** A client's test identity: the fixed code was stored, nothing was sent, no limit counted it. */
  testTarget: boolean;
  /** Only in dev mode. */
  mockCode?: string;
  /** An SMS: its destination country, for the operator's metrics. */
  country?: string;
  /** This send tripped its country's conversion breaker (core/sms-protection.ts). */
  breakerTripped?: BreakerTrip;
}

/** A country whose conversion tripped the breaker: paused (enforce) or only reported (monitor). */
export interface BreakerTrip {
  country: string;
  mode: 'enforce' | 'monitor';
  until: number;
}

/** The part of the store a send calls: its limits, its code, the SMS breaker, and a linking session's customer. */
export type SendStore = Pick<
  OtpStore,
  | 'reserveSend'
  | 'saveCode'
  | 'discardCode'
  | 'countSmsSent'
  | 'uncountSmsSent'
  | 'breakerWindows'
  | 'deferBreaker'
  | 'claimBreakerTrip'
  | 'pauseCountry'
  | 'getSession'
  | 'getCustomer'
  | 'findOwner'
>;
export type SendCodeDeps = SendDeps<SendStore>;

/** Sends a new code to a target for a purpose, replacing its previous one, within every send limit. */
export async function sendCode(deps: SendCodeDeps, request: SendRequest): Promise<SendResult> {
  const { config, store } = deps;
  const target = normaliseTarget(request.target, request.channel);
  assertAllowed(config, target);
  // Checked before any limit counts the send: a send refused here is no send at all.
  const customerId = await linkingCustomer(deps, request.purpose, target, request.sessionToken);

  const now = deps.now();
  const targetKey = opaqueKey(config.pepper, 'target', target.address);
  const ref: CodeRef = { targetKey, purpose: request.purpose };
  const { token: otpToken, tokenHash } = issueOtpToken(config.pepper, target.address, request.purpose);

  // App-store review: a client's test identity gets its fixed code, stored like any other code
  // (attempts, expiry and single use hold) but never sent, so no send limit counts it.
  const testCode = testCodeFor(config, target.address);
  let requireToken = config.requireOtpToken;
  if (testCode === undefined) {
    if (config.testTargets.some((test) => test.target === target.address)) {
      // A fixed code no verify could accept: the reviewer gets a real code, and the operator is told.
      deps.log.warn('test identity ignored: its fixed code does not have the code length of this client', {
        target: maskTarget(target.address),
        codeLength: config.codeLength,
      });
    }
    // Counted for the mailbox, not the address: the tags of one inbox (ada+1@, ada+2@) share its
    // limits, its cooldown and its lock (targets.ts, mailboxOf). Also refuses a mailbox locked by too
    // many wrong codes: it could not use a code anyway.
    const reservation: SendReservation = {
      mailboxKey: opaqueKey(config.pepper, 'target', mailboxOf(target)),
      tokenBound: requireToken,
      ipKey:
        config.sendLimitPerIpPerHour > 0 && request.sourceIp
          ? opaqueKey(config.pepper, 'ip', ipBucket(request.sourceIp))
          : undefined,
      now,
      perHour: config.sendLimitPerHour,
      perDay: config.sendLimitPerDay,
      perIpPerHour: config.sendLimitPerIpPerHour,
      cooldownSeconds: config.resendCooldownSeconds,
      ...(target.channel === 'sms' && target.country
        ? { sms: smsReservation(config, target.address, target.country, request.clientId) }
        : {}),
    };
    let refusal = await store.reserveSend(reservation);
    if (refusal?.limit === 'token-bound') {
      // A mailbox with many wrong codes lately gets codes that only their otpToken can try
      // (guesses.ts), so that a guess without it cannot use them up. Learnt from the refused write:
      // only such a send pays the second one.
      requireToken = true;
      refusal = await store.reserveSend({ ...reservation, tokenBound: true });
    }
    if (refusal) throw refused(refusal, now, target.country);
  }
  // Counted for the breaker beside the code's write, so that the send waits for no extra round trip.
  const breaker =
    testCode === undefined && target.channel === 'sms' && target.country && config.breakerMode !== 'off'
      ? breakerRef(config, target.country, now)
      : undefined;
  const counting = breaker ? countForBreaker(deps, breaker) : undefined;

  const code = testCode ?? generateCode(config.codeLength);
  const codeHash = hashCode(config.pepper, target.address, request.purpose, code);
  const saving = store.saveCode({
    ...ref,
    codeHash,
    tokenHash,
    maxAttempts: config.maxAttempts,
    requireToken,
    ...(customerId === undefined ? {} : { customerId }),
    ...(testCode === undefined ? {} : { testTarget: true, issuedTo: request.clientId }),
    channel: target.channel,
    ...(target.country && testCode === undefined ? { country: target.country } : {}),
    sentAt: now,
    expiresAt: now + config.codeTtlSeconds * 1000,
  });
  const [, sample] = await Promise.all([saving, counting]);

  const logged = { channel: target.channel, purpose: request.purpose, target: maskTarget(target.address) };
  if (testCode !== undefined) {
    deps.log.warn('test identity code issued, nothing sent', logged);
  } else {
    try {
      await deps.senders[target.channel].send({
        channel: target.channel,
        to: target.address,
        code,
        purpose: request.purpose,
        expiresInSeconds: config.codeTtlSeconds,
        appName: config.appName,
        locale: request.locale,
        webOtpDomain: config.webOtpDomain,
        androidAppHash: config.androidAppHash,
      });
    } catch (error) {
      // The caller is told the code is not usable, so make that true; and an SMS that reached no
      // one is no unverified SMS for the breaker (a provider outage must not pause a country).
      await Promise.all([
        store.discardCode(ref, codeHash),
        breaker && sample ? uncountForBreaker(deps, breaker, sample.shard) : undefined,
      ]);
      deps.log.warn('code delivery failed', {
        channel: target.channel,
        target: maskTarget(target.address),
        reason: error instanceof Error ? error.name : 'unknown',
      });
      throw new DeliveryFailedError();
    }
    deps.log.info('code sent', logged);
  }
  // Judged only once the SMS is out, so that a delivery that fails never trips the breaker.
  const breakerTripped = breaker && sample ? await judgeBreaker(deps, breaker, sample) : undefined;

  return {
    otpType: target.channel,
    expiresIn: config.codeTtlSeconds,
    resendAfter: config.resendCooldownSeconds,
    otpToken,
    testTarget: testCode !== undefined,
    ...(config.devMode ? { mockCode: code } : {}),
    ...(target.country ? { country: target.country } : {}),
    ...(breakerTripped ? { breakerTripped } : {}),
  };
}

/** The caps an SMS counts against, with the calling client's own (client-policy.ts). */
function smsReservation(config: EffectiveConfig, address: string, country: string, clientId: string | undefined) {
  const ownCaps = config.clientSmsLimitPerHour > 0 || config.clientSmsLimitPerCountryPerHour > 0;
  return {
    country,
    blockKey: opaqueKey(config.pepper, 'block', numberBlockOf(address)),
    perCountryPerHour: config.smsLimitPerCountryPerHour,
    perPrefixPerHour: config.smsLimitPerPrefixPerHour,
    perHour: config.smsLimitPerHour,
    ...(ownCaps && clientId
      ? {
          client: {
            id: clientId,
            perHour: config.clientSmsLimitPerHour,
            perCountryPerHour: config.clientSmsLimitPerCountryPerHour,
          },
        }
      : {}),
    checkPause: config.breakerMode === 'enforce',
    shards: config.counterShards,
  };
}

/** A verdict that does not trip holds for this long on the shard that asked for it. */
const VERDICT_HOLD_MS = 60_000;

function breakerRef(config: EffectiveConfig, country: string, now: number): BreakerWindowRef {
  return { country, at: now, windowMs: config.breakerWindowSeconds * 1000, shards: config.counterShards };
}

/**
 * The breaker never fails a send: one that cannot count leaves the caps in charge, and says so.
 */
function breakerFailed(deps: SendCodeDeps, country: string, error: unknown): undefined {
  deps.log.warn('conversion breaker failed', { country, reason: error instanceof Error ? error.name : 'unknown' });
  return undefined;
}

function countForBreaker(deps: SendCodeDeps, breaker: BreakerWindowRef): Promise<BreakerSample | undefined> {
  return deps.store.countSmsSent(breaker).catch((error: unknown) => breakerFailed(deps, breaker.country, error));
}

function uncountForBreaker(deps: SendCodeDeps, breaker: BreakerWindowRef, shard: number): Promise<void> {
  return deps.store
    .uncountSmsSent(breaker, shard)
    .catch((error: unknown) => breakerFailed(deps, breaker.country, error));
}

/**
 * The conversion breaker (core/sms-protection.ts): when the shard this SMS counted on suggests it,
 * reads the country's windows and judges them; a country that trips is paused (enforce) or only
 * reported (monitor). A send to a country that converts well pays no read; the rare sample that looks
 * bad for one pays one batch read, and its shard asks no more for a minute.
 */
async function judgeBreaker(
  deps: SendCodeDeps,
  breaker: BreakerWindowRef,
  sample: BreakerSample,
): Promise<BreakerTrip | undefined> {
  const { config, store } = deps;
  const now = breaker.at;
  if ((sample.judgedUntil ?? 0) > now || !sampleSuggestsTrip(sample, breaker.shards, config)) return undefined;
  try {
    const window = breakerWindowOf(now, breaker.windowMs);
    const verdict = breakerVerdict(
      now,
      window,
      await store.breakerWindows(breaker),
      config.codeTtlSeconds * 1000,
      config,
    );
    if (!verdict.trips) {
      // Too soon: asked again once it can be judged. Judged and cleared: not for a minute. Too few
      // SMS yet: asked again by the next send whose shard suggests it, so a trip is not put off.
      const until = verdict.judgeableAt ?? (verdict.cleared ? now + VERDICT_HOLD_MS : undefined);
      if (until !== undefined) await store.deferBreaker(breaker, sample.shard, until);
      return undefined;
    }
    const until = now + config.breakerPauseSeconds * 1000;
    const mode = config.breakerMode === 'enforce' ? 'enforce' : 'monitor';
    if (mode === 'enforce') await store.pauseCountry(breaker.country, now, until, config.counterShards);
    if (!(await store.claimBreakerTrip(breaker, until))) return undefined;
    const { sent, verified } = verdict.judged;
    deps.log.warn(mode === 'enforce' ? 'country paused' : 'country would be paused (breaker in monitor mode)', {
      country: breaker.country,
      sent: Math.round(sent),
      verified: Math.round(verified),
      conversion: sent > 0 ? Math.round((verified / sent) * 1000) / 1000 : 0,
      minConversion: config.breakerMinConversion,
      until: new Date(until).toISOString(),
    });
    return { country: breaker.country, mode, until };
  } catch (error) {
    return breakerFailed(deps, breaker.country, error);
  }
}

/**
 * verify-* / update-*: the customer of the session that came with the send, to whom the code is
 * bound. Whether the target belongs to someone else is not said here (that would let any customer
 * ask which addresses have accounts): verify says it, once the code proved control of the target.
 */
async function linkingCustomer(
  deps: SendCodeDeps,
  purpose: Purpose,
  target: Target,
  sessionToken: SendRequest['sessionToken'],
): Promise<string | undefined> {
  const link = LINK_PURPOSES[purpose];
  if (!link) return undefined;
  if (target.channel !== link.channel) throw new InvalidTargetError(channelMismatch(purpose));
  const session = await checkSession(deps, sessionToken?.());
  if (!link.replace) {
    // Its own account: a verify-* that could only be refused is not worth an SMS.
    let customer = await deps.store.getCustomer(session.customerId);
    if (!customer) {
      // Stored under its target before customers were keyed by id (verify moves it, not the send), or
      // moved by a login since the read above.
      const login = normaliseTarget(session.target);
      const owner = await deps.store.findOwner(targetRef(deps.config, login));
      if (owner?.customerId === session.customerId) {
        customer = owner.legacy ?? (await deps.store.getCustomer(owner.customerId));
      }
    }
    const current = customer && identifierOf(customer, target.channel);
    if (current && current !== target.address) throw new IdentifierExistsError(target.channel);
  }
  return session.customerId;
}

/** What the caller reads for each limit the store reports. */
/** What the caller reads for each limit the store reports. */
const REFUSALS: Record<Exclude<SendLimit, 'token-bound'>, { reason: RateLimitReason; detail: string }> = {
  cooldown: { reason: 'cooldown', detail: 'A code was sent to this target moments ago.' },
  // Many sends to one target at the same moment: to the caller, the cooldown at work.
  contended: { reason: 'cooldown', detail: 'Too many codes requested at once. Try again in a moment.' },
  'target-hourly': { reason: 'target-hourly', detail: 'Hourly limit of codes for this target reached.' },
  'target-daily': { reason: 'target-daily', detail: 'Daily limit of codes for this target reached.' },
  'target-locked': { reason: 'target-locked', detail: 'Too many wrong codes for this target. Try again later.' },
  'ip-hourly': { reason: 'ip-hourly', detail: 'Too many codes requested from this network.' },
  'country-hourly': { reason: 'country-hourly', detail: 'Hourly limit of SMS to this country reached.' },
  'prefix-hourly': { reason: 'prefix-hourly', detail: 'Hourly limit of SMS to this range of numbers reached.' },
  'sms-hourly': { reason: 'sms-hourly', detail: 'Hourly limit of SMS reached. Try e-mail, or try again later.' },
  'client-country-hourly': {
    reason: 'country-hourly',
    detail: "This app's hourly limit of SMS to this country reached.",
  },
  'client-sms-hourly': { reason: 'sms-hourly', detail: "This app's hourly limit of SMS reached." },
  'country-paused': {
    reason: 'country-paused',
    detail: 'SMS to this country are paused: too few codes sent there were used lately. Try e-mail.',
  },
};

function refused(refusal: SendRefusal, now: number, country: string | undefined): RateLimitedError {
  // Told only to a send that stores a bound code already: it never happens, but reads as contention.
  const { reason, detail } = REFUSALS[refusal.limit === 'token-bound' ? 'contended' : refusal.limit];
  return new RateLimitedError(reason, detail, secondsUntil(now, refusal.until), country);
}

function assertAllowed(config: EffectiveConfig, target: Target): void {
  if (!config.allowedChannels.includes(target.channel)) {
    throw new ChannelNotAllowedError(`Codes are not sent by ${target.channel === 'sms' ? 'SMS' : 'e-mail'} here.`);
  }
  const countries = config.smsAllowedCountries;
  // An unchecked number (its country's metadata is not in this build) is refused whatever the list
  // says: were the list widened at run time past the build, it would otherwise go out unchecked.
  const allowed =
    !target.unchecked && (!countries || (target.country !== undefined && countries.includes(target.country)));
  if (target.channel === 'sms' && !allowed) {
    throw new ChannelNotAllowedError('Codes are not sent by SMS to phone numbers of this country.');
  }
}
