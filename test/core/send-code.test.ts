import { effectiveConfig } from '../../functions/core/client-policy.js';
import { describe, expect, it } from 'vitest';
import { hashCode, opaqueKey } from '../../functions/core/codes.js';
import {
  ChannelNotAllowedError,
  DeliveryFailedError,
  IdentifierExistsError,
  InvalidTargetError,
  RateLimitedError,
} from '../../functions/core/errors.js';
import { hashOtpToken } from '../../functions/core/otp-token.js';
import type {
  BreakerSample,
  BreakerWindowRef,
  Customer,
  OtpStore,
  SendLimit,
  SendReservation,
  SessionRecord,
  StoredCode,
} from '../../functions/core/ports.js';
import { hashSessionToken, newSessionToken } from '../../functions/core/sessions.js';
import { type SendRequest, sendCode } from '../../functions/core/send-code.js';
import { HOUR_MS } from '../../functions/core/windows.js';
import { PEPPER, RecordingSender, silentLog, testConfig } from '../kit.js';

const NOW = Date.UTC(2036, 0, 1, 12, 0, 0);

/** The core's words for each fact the store reports: the store itself is not needed for that. */
function refusingStore(limit: SendLimit, until: number): OtpStore {
  return new Proxy({} as OtpStore, {
    get: (_, method) => {
      if (method === 'reserveSend') return () => Promise.resolve({ limit, until });
      // Read in the same step as the reservation (guesses.ts: whether new codes need their token).
      if (method === 'failures') return () => Promise.resolve({ count: 0, expiresAt: NOW });
      return () => Promise.reject(new Error(`${String(method)} must not be called after a refusal`));
    },
  });
}

describe('sendCode: a send the store refuses', () => {
  it.each([
    ['cooldown', 20_000, 'cooldown', 20, /moments ago/],
    ['target-hourly', 1_800_000, 'target-hourly', 1800, /Hourly limit/],
    ['target-daily', 43_200_000, 'target-daily', 43_200, /Daily limit/],
    ['target-locked', 3_600_000, 'target-locked', 3600, /Too many wrong codes/],
    ['ip-hourly', 600_000, 'ip-hourly', 600, /network/],
    ['contended', 1000, 'cooldown', 1, /at once/],
  ] as const)('%s for %i ms: 429 with reason %s and Retry-After %i', async (limit, ms, reason, seconds, detail) => {
    const sender = new RecordingSender();
    const deps = {
      config: effectiveConfig(testConfig(), undefined),
      store: refusingStore(limit, NOW + ms),
      senders: sender.asSenders(),
      now: () => NOW,
      log: silentLog,
    };
    const error = await sendCode(deps, { target: '+14155550123', purpose: 'login' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({
      reason,
      retryAfterSeconds: seconds,
      headers: { 'Retry-After': String(seconds) },
      extensions: { reason, retryAfter: seconds },
    });
    expect((error as RateLimitedError).message).toMatch(detail);
    expect(sender.sent).toHaveLength(0);
  });
});

const PHONE = '+14155550123';
const EMAIL = 'ada@example.com';
type Behaviour = (...args: any[]) => unknown;

/** A store that lets every send through unless told otherwise, and records every call. */
function sendSetUp(
  behaviours: Partial<Record<keyof OtpStore, Behaviour>> = {},
  overrides: Record<string, unknown> = {},
) {
  const calls: [string, ...unknown[]][] = [];
  const logs: [string, string, Record<string, unknown>][] = [];
  const all: Partial<Record<keyof OtpStore, Behaviour>> = {
    reserveSend: () => undefined,
    saveCode: () => undefined,
    countSmsSent: (): BreakerSample => ({ shard: 3, sent: 1, verified: 1 }),
    discardCode: () => undefined,
    uncountSmsSent: () => undefined,
    ...behaviours,
  };
  const store = new Proxy({} as OtpStore, {
    get:
      (_, method: string) =>
      (...args: unknown[]) => {
        calls.push([method, ...args]);
        const behaviour = all[method as keyof OtpStore];
        if (!behaviour) return Promise.reject(new Error(`${method} must not be called`));
        // A behaviour that throws stands for a request that failed.
        return new Promise((resolve) => resolve(behaviour(...args)));
      },
  });
  const sender = new RecordingSender();
  const deps = {
    config: { ...effectiveConfig(testConfig(), undefined), ...overrides },
    store,
    senders: sender.asSenders(),
    now: () => NOW,
    log: {
      info: (message: string, attributes: Record<string, unknown>) => logs.push(['info', message, attributes]),
      warn: (message: string, attributes: Record<string, unknown>) => logs.push(['warn', message, attributes]),
    },
  };
  const called = (method: string) => calls.filter(([name]) => name === method).map(([, ...args]) => args);
  return { deps, sender, logs, called };
}

const sms = (extra: Partial<SendRequest> = {}): SendRequest => ({ target: PHONE, purpose: 'login', ...extra });

describe('sendCode: a send that goes out', () => {
  it('reserves the send within every cap, stores the code hashed with its otpToken, and sends it', async () => {
    const { deps, sender, called, logs } = sendSetUp();
    const config = deps.config;
    const result = await sendCode(deps, sms({ sourceIp: '203.0.113.7', locale: 'de' }));
    expect(called('reserveSend')).toEqual([
      [
        {
          mailboxKey: opaqueKey(PEPPER, 'target', PHONE),
          tokenBound: false,
          ipKey: opaqueKey(PEPPER, 'ip', '203.0.113.7'),
          now: NOW,
          perHour: config.sendLimitPerHour,
          perDay: config.sendLimitPerDay,
          perIpPerHour: config.sendLimitPerIpPerHour,
          cooldownSeconds: config.resendCooldownSeconds,
          sms: {
            country: 'US',
            blockKey: opaqueKey(PEPPER, 'block', '+14155550'),
            perCountryPerHour: config.smsLimitPerCountryPerHour,
            perPrefixPerHour: config.smsLimitPerPrefixPerHour,
            perHour: config.smsLimitPerHour,
            checkPause: true,
            shards: config.counterShards,
          },
        } satisfies SendReservation,
      ],
    ]);
    const code = sender.lastCode();
    expect(called('saveCode')).toEqual([
      [
        {
          targetKey: opaqueKey(PEPPER, 'target', PHONE),
          purpose: 'login',
          codeHash: hashCode(PEPPER, PHONE, 'login', code),
          tokenHash: hashOtpToken(result.otpToken),
          maxAttempts: config.maxAttempts,
          requireToken: false,
          channel: 'sms',
          country: 'US',
          sentAt: NOW,
          expiresAt: NOW + config.codeTtlSeconds * 1000,
        } satisfies StoredCode,
      ],
    ]);
    expect(called('countSmsSent')).toEqual([
      [{ country: 'US', at: NOW, windowMs: config.breakerWindowSeconds * 1000, shards: config.counterShards }],
    ]);
    expect(sender.sent).toEqual([
      {
        channel: 'sms',
        to: PHONE,
        code,
        purpose: 'login',
        expiresInSeconds: config.codeTtlSeconds,
        appName: config.appName,
        locale: 'de',
        webOtpDomain: undefined,
        androidAppHash: undefined,
      },
    ]);
    expect(result).toEqual({
      otpType: 'sms',
      expiresIn: config.codeTtlSeconds,
      resendAfter: config.resendCooldownSeconds,
      otpToken: result.otpToken,
      testTarget: false,
      mockCode: code,
      country: 'US',
    });
    expect(logs).toEqual([['info', 'code sent', { channel: 'sms', purpose: 'login', target: expect.any(String) }]]);
  });

  it('gives no code outside dev mode', async () => {
    const { deps } = sendSetUp({}, { devMode: false });
    expect(await sendCode(deps, sms())).not.toHaveProperty('mockCode');
  });

  it('counts no network without a source address, or where the per-network cap is off', async () => {
    const unknown = sendSetUp();
    await sendCode(unknown.deps, sms());
    expect(unknown.called('reserveSend')[0]?.[0]).toMatchObject({ ipKey: undefined });
    const off = sendSetUp({}, { sendLimitPerIpPerHour: 0 });
    await sendCode(off.deps, sms({ sourceIp: '203.0.113.7' }));
    expect(off.called('reserveSend')[0]?.[0]).toMatchObject({ ipKey: undefined });
  });

  it("counts an SMS against the calling client's own caps, when it has any", async () => {
    const own = sendSetUp({}, { clientSmsLimitPerHour: 0, clientSmsLimitPerCountryPerHour: 7 });
    await sendCode(own.deps, sms({ clientId: 'kiosk' }));
    expect((own.called('reserveSend')[0]?.[0] as SendReservation).sms?.client).toEqual({
      id: 'kiosk',
      perHour: 0,
      perCountryPerHour: 7,
    });
    const hourly = sendSetUp({}, { clientSmsLimitPerHour: 3, clientSmsLimitPerCountryPerHour: 0 });
    await sendCode(hourly.deps, sms({ clientId: 'kiosk' }));
    expect((hourly.called('reserveSend')[0]?.[0] as SendReservation).sms?.client).toMatchObject({ perHour: 3 });
    const none = sendSetUp();
    await sendCode(none.deps, sms({ clientId: 'kiosk' }));
    expect((none.called('reserveSend')[0]?.[0] as SendReservation).sms).not.toHaveProperty('client');
    const keyless = sendSetUp({}, { clientSmsLimitPerHour: 3 });
    await sendCode(keyless.deps, sms());
    expect((keyless.called('reserveSend')[0]?.[0] as SendReservation).sms).not.toHaveProperty('client');
  });

  it('checks for a paused country only when the breaker enforces, and counts for no breaker that is off', async () => {
    const monitor = sendSetUp({}, { breakerMode: 'monitor' });
    await sendCode(monitor.deps, sms());
    expect((monitor.called('reserveSend')[0]?.[0] as SendReservation).sms?.checkPause).toBe(false);
    expect(monitor.called('countSmsSent')).toHaveLength(1);
    const off = sendSetUp({}, { breakerMode: 'off' });
    await sendCode(off.deps, sms());
    expect(off.called('countSmsSent')).toEqual([]);
  });

  it('sends an e-mail with no SMS cap, no breaker and no country', async () => {
    const { deps, called } = sendSetUp();
    const result = await sendCode(deps, { target: EMAIL, purpose: 'login' });
    expect(called('reserveSend')[0]?.[0]).not.toHaveProperty('sms');
    expect(called('saveCode')[0]?.[0]).not.toHaveProperty('country');
    expect(called('countSmsSent')).toEqual([]);
    expect(result.otpType).toBe('email');
    expect(result).not.toHaveProperty('country');
  });

  it('stores a code only its otpToken can try, where the client requires the token', async () => {
    const { deps, called } = sendSetUp({}, { requireOtpToken: true });
    await sendCode(deps, sms());
    expect(called('reserveSend')[0]?.[0]).toMatchObject({ tokenBound: true });
    expect(called('saveCode')[0]?.[0]).toMatchObject({ requireToken: true });
  });

  it('binds the code to its otpToken when the mailbox asks for it, reserving again', async () => {
    const { deps, called } = sendSetUp({
      reserveSend: (reservation: SendReservation) =>
        reservation.tokenBound ? undefined : { limit: 'token-bound', until: NOW },
    });
    await sendCode(deps, sms());
    expect(called('reserveSend').map(([reservation]) => (reservation as SendReservation).tokenBound)).toEqual([
      false,
      true,
    ]);
    expect(called('saveCode')[0]?.[0]).toMatchObject({ requireToken: true });
  });
});

describe('sendCode: refusals', () => {
  it.each([
    ['country-hourly', 'country-hourly', /to this country/],
    ['prefix-hourly', 'prefix-hourly', /range of numbers/],
    ['sms-hourly', 'sms-hourly', /Try e-mail/],
    ['client-country-hourly', 'country-hourly', /This app's hourly limit of SMS to this country/],
    ['client-sms-hourly', 'sms-hourly', /This app's hourly limit of SMS reached/],
    ['country-paused', 'country-paused', /paused/],
  ] as const)('%s reads as %s, with the country, and stores nothing', async (limit, reason, detail) => {
    const { deps, called } = sendSetUp({ reserveSend: () => ({ limit, until: NOW + HOUR_MS }) });
    const error = await sendCode(deps, sms()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ reason, retryAfterSeconds: 3600, country: 'US' });
    expect((error as RateLimitedError).message).toMatch(detail);
    expect(called('saveCode')).toEqual([]);
    expect(called('countSmsSent')).toEqual([]);
  });

  it('reads a bound code refused as bound as contention', async () => {
    const { deps } = sendSetUp({ reserveSend: () => ({ limit: 'token-bound', until: NOW + 1000 }) });
    await expect(sendCode(deps, sms())).rejects.toMatchObject({ reason: 'cooldown', message: /at once/ });
  });

  it('sends by a channel the deployment allows only', async () => {
    const { deps, called } = sendSetUp({}, { allowedChannels: ['email'] });
    await expect(sendCode(deps, sms())).rejects.toThrow(new ChannelNotAllowedError('Codes are not sent by SMS here.'));
    const email = sendSetUp({}, { allowedChannels: ['sms'] });
    await expect(sendCode(email.deps, { target: EMAIL, purpose: 'login' })).rejects.toThrow(
      'Codes are not sent by e-mail here.',
    );
    expect(called('reserveSend')).toEqual([]);
  });

  it('sends SMS to the allowed countries only', async () => {
    const { deps } = sendSetUp({}, { smsAllowedCountries: ['GB'] });
    await expect(sendCode(deps, sms())).rejects.toBeInstanceOf(ChannelNotAllowedError);
    const allowed = sendSetUp({}, { smsAllowedCountries: ['GB', 'US'] });
    await expect(sendCode(allowed.deps, sms())).resolves.toHaveProperty('country', 'US');
    const email = sendSetUp({}, { smsAllowedCountries: ['GB'] });
    await expect(sendCode(email.deps, { target: EMAIL, purpose: 'login' })).resolves.toHaveProperty('otpType', 'email');
  });
});

describe('sendCode: a test identity', () => {
  it('stores its fixed code, bound to the client it was issued to, and sends nothing, counting nothing', async () => {
    const { deps, sender, called, logs } = sendSetUp({}, { testTargets: [{ target: PHONE, code: '424242' }] });
    const result = await sendCode(deps, sms({ clientId: 'kiosk' }));
    expect(called('reserveSend')).toEqual([]);
    expect(called('countSmsSent')).toEqual([]);
    expect(sender.sent).toEqual([]);
    const [stored] = called('saveCode')[0] as [StoredCode];
    expect(stored).toMatchObject({
      codeHash: hashCode(PEPPER, PHONE, 'login', '424242'),
      testTarget: true,
      issuedTo: 'kiosk',
    });
    expect(stored).not.toHaveProperty('country');
    expect(result).toMatchObject({ testTarget: true, mockCode: '424242', country: 'US' });
    expect(logs).toEqual([
      ['warn', 'test identity code issued, nothing sent', expect.objectContaining({ channel: 'sms' })],
    ]);
  });

  it('says nothing of test identities for a send to another target', async () => {
    const { deps, logs } = sendSetUp({}, { testTargets: [{ target: '+14155550999', code: '4242' }] });
    await sendCode(deps, sms());
    expect(logs.map(([, message]) => message)).toEqual(['code sent']);
  });

  it('is ignored, and said so, when its code does not have the code length', async () => {
    const { deps, sender, logs } = sendSetUp({}, { testTargets: [{ target: PHONE, code: '4242' }] });
    const result = await sendCode(deps, sms());
    expect(result.testTarget).toBe(false);
    expect(sender.sent).toHaveLength(1);
    expect(logs[0]).toEqual([
      'warn',
      'test identity ignored: its fixed code does not have the code length of this client',
      { target: expect.any(String), codeLength: 6 },
    ]);
  });
});

describe('sendCode: a delivery that fails', () => {
  it('discards the code, takes the SMS back from the breaker, and answers delivery-failed', async () => {
    const { deps, sender, called, logs } = sendSetUp();
    sender.failWith = new RangeError('provider down');
    await expect(sendCode(deps, sms())).rejects.toBeInstanceOf(DeliveryFailedError);
    const [stored] = called('saveCode')[0] as [StoredCode];
    expect(called('discardCode')).toEqual([[{ targetKey: stored.targetKey, purpose: 'login' }, stored.codeHash]]);
    expect(called('uncountSmsSent')).toEqual([[expect.objectContaining({ country: 'US', at: NOW }), 3]]);
    expect(logs).toContainEqual([
      'warn',
      'code delivery failed',
      { channel: 'sms', target: expect.any(String), reason: 'RangeError' },
    ]);
    expect(called('breakerWindows')).toEqual([]);
  });

  it('sends all the same when the breaker cannot count, and takes back nothing from it', async () => {
    const counting = sendSetUp({
      countSmsSent: () => {
        throw new RangeError('throttled');
      },
    });
    await expect(sendCode(counting.deps, sms())).resolves.toHaveProperty('otpType', 'sms');
    expect(counting.logs).toContainEqual([
      'warn',
      'conversion breaker failed',
      { country: 'US', reason: 'RangeError' },
    ]);
    const failing = sendSetUp({
      countSmsSent: () => {
        throw new RangeError('throttled');
      },
    });
    failing.sender.failWith = new Error('provider down');
    await expect(sendCode(failing.deps, sms())).rejects.toBeInstanceOf(DeliveryFailedError);
    expect(failing.called('uncountSmsSent')).toEqual([]);
  });
});

describe('sendCode: the conversion breaker', () => {
  /** One shard of ten saw 10 SMS and no code entered: 100 in the window, none verified. */
  const suspicious: BreakerSample = { shard: 3, sent: 10, verified: 0 };
  const pumped = {
    current: { sent: 100, verified: 0, firstAt: NOW - HOUR_MS / 2 },
    previous: { sent: 0, verified: 0 },
  };

  it('reads nothing more for a sample that looks fine, or one judged lately', async () => {
    for (const sample of [
      { shard: 3, sent: 10, verified: 5 },
      { ...suspicious, judgedUntil: NOW + 1 },
    ]) {
      const { deps, called } = sendSetUp({ countSmsSent: () => sample });
      await sendCode(deps, sms());
      expect(called('breakerWindows')).toEqual([]);
    }
  });

  it('judges again from the very moment a hold ends', async () => {
    const { deps, called } = sendSetUp({
      countSmsSent: () => ({ ...suspicious, judgedUntil: NOW }),
      breakerWindows: () => pumped,
      pauseCountry: () => undefined,
      claimBreakerTrip: () => true,
    });
    await sendCode(deps, sms());
    expect(called('breakerWindows')).toHaveLength(1);
  });

  it('pauses a country that converts too little, once, and says so', async () => {
    const { deps, called, logs } = sendSetUp({
      countSmsSent: () => suspicious,
      breakerWindows: () => pumped,
      pauseCountry: () => undefined,
      claimBreakerTrip: () => true,
    });
    const result = await sendCode(deps, sms());
    const until = NOW + deps.config.breakerPauseSeconds * 1000;
    const breaker: BreakerWindowRef = {
      country: 'US',
      at: NOW,
      windowMs: deps.config.breakerWindowSeconds * 1000,
      shards: deps.config.counterShards,
    };
    expect(called('breakerWindows')).toEqual([[breaker]]);
    expect(called('pauseCountry')).toEqual([['US', NOW, until, deps.config.counterShards]]);
    expect(called('claimBreakerTrip')).toEqual([[breaker, until]]);
    expect(result.breakerTripped).toEqual({ country: 'US', mode: 'enforce', until });
    expect(logs).toContainEqual([
      'warn',
      'country paused',
      {
        country: 'US',
        sent: 100,
        verified: 0,
        conversion: 0,
        minConversion: deps.config.breakerMinConversion,
        until: new Date(until).toISOString(),
      },
    ]);
  });

  it('only reports a country in monitor mode, and reports a trip another send claimed first not again', async () => {
    const monitor = sendSetUp(
      {
        countSmsSent: () => suspicious,
        breakerWindows: () => ({ ...pumped, current: { ...pumped.current, verified: 3 } }),
        claimBreakerTrip: () => true,
      },
      { breakerMode: 'monitor' },
    );
    const result = await sendCode(monitor.deps, sms());
    expect(monitor.called('pauseCountry')).toEqual([]);
    expect(result.breakerTripped).toMatchObject({ mode: 'monitor' });
    expect(monitor.logs).toContainEqual([
      'warn',
      'country would be paused (breaker in monitor mode)',
      expect.objectContaining({ sent: 100, verified: 3, conversion: 0.03 }),
    ]);
    const claimed = sendSetUp({
      countSmsSent: () => suspicious,
      breakerWindows: () => pumped,
      pauseCountry: () => undefined,
      claimBreakerTrip: () => false,
    });
    expect(await sendCode(claimed.deps, sms())).not.toHaveProperty('breakerTripped');
    expect(claimed.logs.map(([, message]) => message)).not.toContain('country paused');
  });

  it('asks again once the window can be judged, or a minute after it cleared', async () => {
    const early = sendSetUp({
      countSmsSent: () => suspicious,
      breakerWindows: () => ({ ...pumped, current: { ...pumped.current, firstAt: NOW - 1000 } }),
      deferBreaker: () => undefined,
    });
    await sendCode(early.deps, sms());
    expect(early.called('deferBreaker')).toEqual([
      [expect.objectContaining({ country: 'US' }), 3, NOW - 1000 + early.deps.config.codeTtlSeconds * 1000],
    ]);
    const cleared = sendSetUp({
      countSmsSent: () => suspicious,
      breakerWindows: () => ({ ...pumped, current: { ...pumped.current, verified: 80 } }),
      deferBreaker: () => undefined,
    });
    expect(await sendCode(cleared.deps, sms())).not.toHaveProperty('breakerTripped');
    expect(cleared.called('deferBreaker')).toEqual([[expect.objectContaining({ country: 'US' }), 3, NOW + 60_000]]);
  });

  it('defers nothing when too few SMS were sent to judge', async () => {
    const { deps, called } = sendSetUp({
      countSmsSent: () => suspicious,
      breakerWindows: () => ({ ...pumped, current: { sent: 20, verified: 0, firstAt: NOW - HOUR_MS / 2 } }),
    });
    await sendCode(deps, sms());
    expect(called('deferBreaker')).toEqual([]);
  });

  it('sends all the same when the breaker cannot be judged', async () => {
    const { deps, logs } = sendSetUp({
      countSmsSent: () => suspicious,
      breakerWindows: () => {
        throw new RangeError('throttled');
      },
    });
    expect(await sendCode(deps, sms())).not.toHaveProperty('breakerTripped');
    expect(logs).toContainEqual(['warn', 'conversion breaker failed', { country: 'US', reason: 'RangeError' }]);
  });
});

describe('sendCode: verify-* and update-*', () => {
  const sessionToken = newSessionToken();
  const session: SessionRecord = {
    tokenHash: hashSessionToken(sessionToken),
    customerId: 'cust-1',
    target: EMAIL,
    channel: 'email',
    purpose: 'login',
    sid: 'sid-1',
    issuedAt: NOW - 1000,
    authTime: NOW - 1000,
    expiresAt: NOW + 60_000,
    origin: {},
  };
  const customer = (phone: string | null): Customer => ({
    id: 'cust-1',
    email: EMAIL,
    phone,
    name: null,
    keys: {},
    createdAt: NOW,
    verifiedAt: NOW,
  });
  const link = (purpose: SendRequest['purpose']): SendRequest => ({
    ...sms({ purpose }),
    sessionToken: () => sessionToken,
  });

  it("binds the code to the session's customer", async () => {
    const { deps, called } = sendSetUp({ getSession: () => session, getCustomer: () => customer(null) });
    await sendCode(deps, link('verify-phone'));
    expect(called('getSession')).toEqual([[session.tokenHash]]);
    expect(called('saveCode')[0]?.[0]).toMatchObject({ customerId: 'cust-1' });
  });

  it('refuses a verify-* for a customer who has another identifier of the channel, before any limit counts', async () => {
    const other = sendSetUp({ getSession: () => session, getCustomer: () => customer('+14155550999') });
    await expect(sendCode(other.deps, link('verify-phone'))).rejects.toBeInstanceOf(IdentifierExistsError);
    expect(other.called('reserveSend')).toEqual([]);
    const same = sendSetUp({ getSession: () => session, getCustomer: () => customer(PHONE) });
    await expect(sendCode(same.deps, link('verify-phone'))).resolves.toHaveProperty('otpType', 'sms');
  });

  it('lets an update-* replace the identifier without reading the customer', async () => {
    const { deps, called } = sendSetUp({ getSession: () => session });
    await sendCode(deps, link('update-phone'));
    expect(called('getCustomer')).toEqual([]);
  });

  it('refuses a verify-* that came without a session token', async () => {
    const { deps } = sendSetUp({ getSession: () => session });
    await expect(sendCode(deps, sms({ purpose: 'verify-phone' }))).rejects.toThrow('The session token');
  });

  it('sends for a session whose customer is found under no key: verify will say it is gone', async () => {
    const { deps } = sendSetUp({ getSession: () => session, getCustomer: () => undefined, findOwner: () => undefined });
    await expect(sendCode(deps, link('verify-phone'))).resolves.toHaveProperty('otpType', 'sms');
  });

  it('refuses a target of the other channel, and a request without a live session', async () => {
    const channel = sendSetUp();
    await expect(sendCode(channel.deps, link('verify-email'))).rejects.toBeInstanceOf(InvalidTargetError);
    const none = sendSetUp({ getSession: () => undefined });
    await expect(sendCode(none.deps, link('verify-phone'))).rejects.toThrow('The session token');
    expect(none.called('reserveSend')).toEqual([]);
  });

  it("reads a customer stored under its login target, or moved there since, and only the session's own", async () => {
    const legacy = sendSetUp({
      getSession: () => session,
      getCustomer: () => undefined,
      findOwner: () => ({ customerId: 'cust-1', legacy: customer('+14155550999') }),
    });
    await expect(sendCode(legacy.deps, link('verify-phone'))).rejects.toBeInstanceOf(IdentifierExistsError);
    expect(legacy.called('findOwner')[0]?.[0]).toMatchObject({ address: EMAIL });
    let reads = 0;
    const moved = sendSetUp({
      getSession: () => session,
      getCustomer: () => (reads++ === 0 ? undefined : customer('+14155550999')),
      findOwner: () => ({ customerId: 'cust-1' }),
    });
    await expect(sendCode(moved.deps, link('verify-phone'))).rejects.toBeInstanceOf(IdentifierExistsError);
    const someoneElse = sendSetUp({
      getSession: () => session,
      getCustomer: () => undefined,
      findOwner: () => ({ customerId: 'cust-2', legacy: customer('+14155550999') }),
    });
    await expect(sendCode(someoneElse.deps, link('verify-phone'))).resolves.toHaveProperty('otpType', 'sms');
  });
});
