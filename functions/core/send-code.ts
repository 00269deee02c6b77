import { generateCode, hashCode, opaqueKey } from './codes.js';
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
import { newCodesNeedToken } from './guesses.js';
import { ipBucket } from './network.js';
import { issueOtpToken } from './otp-token.js';
import type { CodeRef, SendLimit, SendRefusal } from './ports.js';
import type { Channel, Purpose } from './purposes.js';
import { checkSession } from './sessions.js';
import { mailboxOf, maskTarget, normaliseTarget, type Target } from './targets.js';
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
}

/** Sends a new code to a target for a purpose, replacing its previous one, within every send limit. */
export async function sendCode(deps: SendDeps, request: SendRequest): Promise<SendResult> {
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
    const mailboxKey = opaqueKey(config.pepper, 'target', mailboxOf(target));
    // Read in the same step: a mailbox with many wrong codes lately gets codes that only their
    // otpToken can try (guesses.ts), so that a guess without it cannot use them up.
    const [refusal, failures] = await Promise.all([
      store.reserveSend({
        mailboxKey,
        ipKey:
          config.sendLimitPerIpPerHour > 0 && request.sourceIp
            ? opaqueKey(config.pepper, 'ip', ipBucket(request.sourceIp))
            : undefined,
        now,
        perHour: config.sendLimitPerHour,
        perDay: config.sendLimitPerDay,
        perIpPerHour: config.sendLimitPerIpPerHour,
        cooldownSeconds: config.resendCooldownSeconds,
      }),
      store.failures(mailboxKey, now),
    ]);
    if (refusal) throw refused(refusal, now);
    requireToken ||= newCodesNeedToken(failures.count, config.maxFailuresPerTarget);
  }

  const code = testCode ?? generateCode(config.codeLength);
  const codeHash = hashCode(config.pepper, target.address, request.purpose, code);
  await store.saveCode({
    ...ref,
    codeHash,
    tokenHash,
    maxAttempts: config.maxAttempts,
    requireToken,
    ...(customerId === undefined ? {} : { customerId }),
    ...(testCode === undefined ? {} : { testTarget: true, issuedTo: request.clientId }),
    channel: target.channel,
    sentAt: now,
    expiresAt: now + config.codeTtlSeconds * 1000,
  });

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
      });
    } catch (error) {
      // The caller is told the code is not usable, so make that true.
      await store.discardCode(ref, codeHash);
      deps.log.warn('code delivery failed', {
        channel: target.channel,
        target: maskTarget(target.address),
        reason: error instanceof Error ? error.name : 'unknown',
      });
      throw new DeliveryFailedError();
    }
    deps.log.info('code sent', logged);
  }

  return {
    otpType: target.channel,
    expiresIn: config.codeTtlSeconds,
    resendAfter: config.resendCooldownSeconds,
    otpToken,
    testTarget: testCode !== undefined,
    ...(config.devMode ? { mockCode: code } : {}),
  };
}

/**
 * verify-* / update-*: the customer of the session that came with the send, to whom the code is
 * bound. Whether the target belongs to someone else is not said here (that would let any customer
 * ask which addresses have accounts): verify says it, once the code proved control of the target.
 */
async function linkingCustomer(
  deps: SendDeps,
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
      const owner = await deps.store.findOwner({
        targetKey: opaqueKey(deps.config.pepper, 'target', login.address),
        address: login.address,
        channel: login.channel,
      });
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
const REFUSALS: Record<SendLimit, { reason: RateLimitReason; detail: string }> = {
  cooldown: { reason: 'cooldown', detail: 'A code was sent to this target moments ago.' },
  // Many sends to one target at the same moment: to the caller, the cooldown at work.
  contended: { reason: 'cooldown', detail: 'Too many codes requested at once. Try again in a moment.' },
  'target-hourly': { reason: 'target-hourly', detail: 'Hourly limit of codes for this target reached.' },
  'target-daily': { reason: 'target-daily', detail: 'Daily limit of codes for this target reached.' },
  'target-locked': { reason: 'target-locked', detail: 'Too many wrong codes for this target. Try again later.' },
  'ip-hourly': { reason: 'ip-hourly', detail: 'Too many codes requested from this network.' },
};

function refused(refusal: SendRefusal, now: number): RateLimitedError {
  const { reason, detail } = REFUSALS[refusal.limit];
  return new RateLimitedError(reason, detail, secondsUntil(now, refusal.until));
}

function assertAllowed(config: EffectiveConfig, target: Target): void {
  if (!config.allowedChannels.includes(target.channel)) {
    throw new ChannelNotAllowedError(`Codes are not sent by ${target.channel === 'sms' ? 'SMS' : 'e-mail'} here.`);
  }
  const countries = config.smsAllowedCountries;
  if (target.channel === 'sms' && countries && !(target.country && countries.includes(target.country))) {
    throw new ChannelNotAllowedError('Codes are not sent by SMS to phone numbers of this country.');
  }
}
