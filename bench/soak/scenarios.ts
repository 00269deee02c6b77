/**
 * The soak's workload: weighted scenarios, each a short sequence of API calls as an app (or an
 * abuser) makes them. What each answer should be is not asserted here: every answer is recorded, and
 * the checker (checker.ts) holds the answers and the database against the invariants afterwards.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { normaliseTarget } from '../../functions/core/targets.js';
import type { Answer, Generator, Login } from './generator.js';

export interface Scenario {
  name: string;
  weight: number;
  run: (generator: Generator, name: string) => Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A little over the soak's resend cooldown (settings.ts), for a second send to one target. */
const COOLDOWN_MS = 1100;

/** A network of its own: 65 000 addresses, so that ordinary flows rarely meet the per-IP limit. */
const randomIp = () => `127.1.${randomInt(256)}.${1 + randomInt(254)}`;
const digits = (count: number) => Array.from({ length: count }, () => randomInt(10)).join('');
const text = (answer: Answer, name: string) => (typeof answer.body[name] === 'string' ? answer.body[name] : undefined);
const pickOne = <T>(items: readonly T[]): T | undefined => items[randomInt(Math.max(1, items.length))];

/** A fresh e-mail address of this run; now and then with a tag or in capitals (normalised alike). */
function email(generator: Generator): string {
  const n = generator.unique();
  const roll = Math.random();
  if (roll < 0.15) return `soak-${generator.run}-${n}+t${randomInt(3)}@example.com`;
  if (roll < 0.3) return `Soak-${generator.run}-${n}@Example.COM`;
  return `soak-${generator.run}-${n}@example.com`;
}

/** Mobile number plans: a prefix and how many random digits follow it. */
const PLANS: Record<string, [string, number]> = {
  US: ['+1201', 7],
  GB: ['+4474', 8],
  DE: ['+49151', 8],
  FR: ['+336', 8],
  AU: ['+614', 8],
  ES: ['+346', 8],
  // The two abused countries (smsOneCountry) get no ordinary traffic.
  NL: ['+316', 8],
  IT: ['+393', 9],
};
const ORDINARY_COUNTRIES = ['US', 'GB', 'DE', 'FR', 'AU', 'ES'];

/** A random mobile number of the country (random digits spread it over number blocks). */
function phone(country: string, prefix?: string): string {
  const [plan, count] = PLANS[country] ?? ['+4474', 8];
  const start = prefix ?? plan;
  for (let i = 0; i < 50; i++) {
    const number = `${start}${digits(count - (start.length - plan.length))}`;
    try {
      if (normaliseTarget(number).channel === 'sms') return number;
    } catch {
      // Not a mobile number of the plan: draw again.
    }
  }
  throw new Error(`no valid number drawn for ${start}`);
}

/** A code that is not `right`. */
function wrongCode(right: string | undefined): string {
  for (;;) {
    const code = digits(right?.length ?? 6);
    if (code !== right) return code;
  }
}

interface Sent {
  answer: Answer;
  otpToken?: string;
  code?: string;
}

async function send(
  generator: Generator,
  scenario: string,
  ip: string,
  target: string,
  purpose = 'login',
  options: { token?: string; idempotencyKey?: string; locale?: string } = {},
): Promise<Sent> {
  const answer = await generator.call(scenario, {
    route: 'send',
    method: 'POST',
    path: '/v1/otp/send',
    ip,
    body: { target, purpose, ...(options.locale ? { locale: options.locale } : {}) },
    headers: {
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      ...(options.idempotencyKey ? { 'Idempotency-Key': options.idempotencyKey } : {}),
    },
    note: {
      target,
      purpose,
      ...(options.token ? { token: options.token } : {}),
      ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
    },
  });
  return { answer, otpToken: text(answer, 'otpToken'), code: text(answer, 'mockCode') };
}

async function verify(
  generator: Generator,
  scenario: string,
  ip: string,
  request: { target?: string; otpToken?: string; code: string; purpose?: string; token?: string; right: boolean },
): Promise<Answer> {
  const purpose = request.purpose ?? 'login';
  return generator.call(scenario, {
    route: 'verify',
    method: 'POST',
    path: '/v1/otp/verify',
    ip,
    body: {
      ...(request.target ? { target: request.target } : {}),
      ...(request.otpToken ? { otpToken: request.otpToken } : {}),
      code: request.code,
      purpose,
      platform: pickOne(['ios', 'android', 'web', 'other'] as const),
    },
    headers: request.token ? { Authorization: `Bearer ${request.token}` } : {},
    note: {
      ...(request.target ? { target: request.target } : {}),
      ...(request.otpToken ? { otpToken: request.otpToken } : {}),
      purpose,
      code: request.code,
      rightCode: request.right,
      ...(request.token ? { token: request.token } : {}),
    },
  });
}

/** A verify of a sent code: by target, by otpToken alone, or by both. */
function verifySent(generator: Generator, scenario: string, ip: string, target: string, sent: Sent, purpose: string) {
  const roll = Math.random();
  const byToken = roll < 0.5 && sent.otpToken !== undefined;
  const byTarget = !byToken || roll < 0.25;
  return verify(generator, scenario, ip, {
    ...(byTarget ? { target } : {}),
    ...(byToken ? { otpToken: sent.otpToken } : {}),
    code: sent.code ?? '000000',
    purpose,
    right: true,
  });
}

function checkSession(generator: Generator, scenario: string, ip: string, token: string): Promise<Answer> {
  return generator.call(scenario, {
    route: 'session',
    method: 'GET',
    path: '/v1/session',
    ip,
    headers: { Authorization: `Bearer ${token}` },
    note: { token },
  });
}

function listSessions(generator: Generator, scenario: string, ip: string, token: string): Promise<Answer> {
  return generator.call(scenario, {
    route: 'sessions',
    method: 'GET',
    path: '/v1/sessions',
    ip,
    headers: { Authorization: `Bearer ${token}` },
    note: { token },
  });
}

function refresh(generator: Generator, scenario: string, ip: string, refreshToken: string): Promise<Answer> {
  return generator.call(scenario, {
    route: 'refresh',
    method: 'POST',
    path: '/v1/session/refresh',
    ip,
    body: { refreshToken },
    note: { presented: refreshToken },
  });
}

function revoke(generator: Generator, scenario: string, ip: string, token: string, all = false): Promise<Answer> {
  return generator.call(scenario, {
    route: all ? 'revoke-all' : 'revoke',
    method: 'DELETE',
    path: all ? '/v1/session?all=true' : '/v1/session',
    ip,
    headers: { Authorization: `Bearer ${token}` },
    note: { token },
  });
}

/** Send and verify; the login when the verify answered 200. */
async function login(
  generator: Generator,
  scenario: string,
  ip: string,
  target: string,
  purpose = 'login',
): Promise<Login | undefined> {
  const sent = await send(generator, scenario, ip, target, purpose);
  if (sent.answer.status !== 200) return undefined;
  const verified = await verifySent(generator, scenario, ip, target, sent, purpose);
  if (verified.status !== 200) return undefined;
  const identity = verified.body.identity as { id?: string } | undefined;
  const sessionToken = text(verified, 'sessionToken');
  if (!sessionToken || !identity?.id) return undefined;
  const refreshToken = text(verified, 'refreshToken');
  return {
    target,
    channel: target.includes('@') ? 'email' : 'sms',
    customerId: identity.id,
    sessionToken,
    ...(refreshToken ? { refreshToken } : {}),
  };
}

/**
 * An ordinary login by e-mail or SMS (or a register): send, verify, check the session, refresh it
 * once or twice and check again, sometimes list the sessions, and sometimes log out. Now and then
 * the target is one that logged in before (an existing customer).
 */
function loginFlow(channel: 'email' | 'sms', purpose: 'login' | 'register'): Scenario['run'] {
  return async (generator, scenario) => {
    const ip = randomIp();
    const earlier = Math.random() < 0.2 ? pickOne(generator.logins.filter((l) => l.channel === channel)) : undefined;
    const target =
      earlier?.target ?? (channel === 'email' ? email(generator) : phone(pickOne(ORDINARY_COUNTRIES) ?? 'US'));
    const session = await login(generator, scenario, ip, target, purpose);
    if (!session) return;
    await checkSession(generator, scenario, ip, session.sessionToken);
    let current = session;
    for (let i = randomInt(3); i > 0 && current.refreshToken; i--) {
      const rotated = await refresh(generator, scenario, ip, current.refreshToken);
      const sessionToken = text(rotated, 'sessionToken');
      const refreshToken = text(rotated, 'refreshToken');
      if (rotated.status !== 200 || !sessionToken) break;
      current = { ...current, sessionToken, ...(refreshToken ? { refreshToken } : {}) };
      await checkSession(generator, scenario, ip, current.sessionToken);
    }
    if (Math.random() < 0.2) await listSessions(generator, scenario, ip, current.sessionToken);
    if (Math.random() < 0.15) {
      await revoke(generator, scenario, ip, current.sessionToken);
      return;
    }
    generator.addLogin(current);
  };
}

/** A step-up of a customer who logged in before (or of a new one): a short session, no refresh token. */
const stepUp: Scenario['run'] = async (generator, scenario) => {
  const ip = randomIp();
  const target = pickOne(generator.logins)?.target ?? email(generator);
  const session = await login(generator, scenario, ip, target, 'step-up');
  if (session) await checkSession(generator, scenario, ip, session.sessionToken);
};

/**
 * verify-email / verify-phone: a logged-in customer adds a target of the other channel. One time in
 * four the target is another customer's (the answer must be 409 target-in-use, and nothing linked).
 */
const link: Scenario['run'] = async (generator, scenario) => {
  const ip = randomIp();
  const owner = pickOne(generator.logins);
  if (!owner) return;
  const channel = owner.channel === 'email' ? 'sms' : 'email';
  const purpose = channel === 'email' ? 'verify-email' : 'verify-phone';
  const taken = Math.random() < 0.25 ? pickOne(generator.logins.filter((l) => l.channel === channel)) : undefined;
  const target = taken?.target ?? (channel === 'email' ? email(generator) : phone(pickOne(ORDINARY_COUNTRIES) ?? 'US'));
  const sent = await send(generator, scenario, ip, target, purpose, { token: owner.sessionToken });
  if (sent.answer.status !== 200 || !sent.code) return;
  await verify(generator, scenario, ip, {
    target,
    code: sent.code,
    purpose,
    token: owner.sessionToken,
    right: true,
  });
};

/**
 * Two or three refreshes of one refresh token at once (a stolen token used beside the app): one
 * succeeds, and the reuse ends the session, so the session the winner got must not check.
 */
const refreshRace: Scenario['run'] = async (generator, scenario) => {
  const ip = randomIp();
  const session = await login(generator, scenario, ip, email(generator));
  if (!session?.refreshToken) return;
  const token = session.refreshToken;
  const answers = await Promise.all(
    Array.from({ length: 2 + randomInt(2) }, () => refresh(generator, scenario, randomIp(), token)),
  );
  for (const answer of answers) {
    const sessionToken = text(answer, 'sessionToken');
    if (sessionToken) await checkSession(generator, scenario, ip, sessionToken);
  }
  await checkSession(generator, scenario, ip, session.sessionToken);
};

/** Log out, then the session and its refresh token must be refused; sometimes with a rotated-away token. */
const revokeOne: Scenario['run'] = async (generator, scenario) => {
  const ip = randomIp();
  const session = await login(generator, scenario, ip, email(generator));
  if (!session) return;
  let token = session.sessionToken;
  let refreshToken = session.refreshToken;
  if (refreshToken && Math.random() < 0.3) {
    // Logging out with the token a refresh rotated away still ends the login (sessions.ts).
    const rotated = await refresh(generator, scenario, ip, refreshToken);
    refreshToken = text(rotated, 'refreshToken') ?? refreshToken;
    const fresh = text(rotated, 'sessionToken');
    await revoke(generator, scenario, ip, token);
    if (fresh) token = fresh;
  } else {
    await revoke(generator, scenario, ip, token);
  }
  await checkSession(generator, scenario, ip, token);
  if (refreshToken) await refresh(generator, scenario, ip, refreshToken);
};

/** Two logins of one customer, then revoke-all with one of them: neither checks afterwards. */
const revokeAll: Scenario['run'] = async (generator, scenario) => {
  const ip = randomIp();
  const target = email(generator);
  const first = await login(generator, scenario, ip, target);
  if (!first) return;
  await sleep(COOLDOWN_MS);
  const second = await login(generator, scenario, ip, target);
  if (!second) return;
  await revoke(generator, scenario, ip, second.sessionToken, true);
  await checkSession(generator, scenario, ip, first.sessionToken);
  await checkSession(generator, scenario, ip, second.sessionToken);
};

/** A session check of any token handed out so far, live or ended. */
const sessionCheck: Scenario['run'] = async (generator, scenario) => {
  const ip = randomIp();
  for (let i = 0; i < 3; i++) {
    const token = pickOne(generator.tokens);
    if (!token) return;
    await checkSession(generator, scenario, ip, token);
  }
  const login = pickOne(generator.logins);
  if (login) await listSessions(generator, scenario, ip, login.sessionToken);
};

/** One of a few victims per run, hammered with bursts of sends: cooldown, then hourly and daily limits. */
const hammerTarget: Scenario['run'] = async (generator, scenario) => {
  const target = `victim-${generator.run}-${randomInt(3)}@example.com`;
  const answers = await Promise.all(Array.from({ length: 4 }, () => send(generator, scenario, randomIp(), target)));
  const sent = answers.find((answer) => answer.answer.status === 200);
  if (sent && Math.random() < 0.5) await verifySent(generator, scenario, randomIp(), target, sent, 'login');
  await sleep(COOLDOWN_MS);
};

/** Many targets from one network: the per-IP limit (30 an hour) refuses the rest. */
const manyTargetsOneIp: Scenario['run'] = async (generator, scenario) => {
  const ip = '127.66.0.1';
  for (let i = 0; i < 3; i++) {
    const target = Math.random() < 0.5 ? email(generator) : phone(pickOne(ORDINARY_COUNTRIES) ?? 'US');
    const sent = await send(generator, scenario, ip, target);
    if (sent.answer.status === 200 && Math.random() < 0.3) {
      await verifySent(generator, scenario, ip, target, sent, 'login');
    }
  }
};

/**
 * SMS to one country: NL converts now and then (one code in three is verified) and meets its hourly
 * cap; IT never converts (SMS pumping), which the conversion breaker may pause.
 */
const smsOneCountry: Scenario['run'] = async (generator, scenario) => {
  const country = Math.random() < 0.6 ? 'NL' : 'IT';
  const answers = await Promise.all(
    Array.from({ length: 3 }, () => {
      const target = phone(country);
      return send(generator, scenario, randomIp(), target).then((sent) => ({ sent, target }));
    }),
  );
  const first = answers.find(({ sent }) => sent.answer.status === 200);
  if (country === 'NL' && first) await verifySent(generator, scenario, randomIp(), first.target, first.sent, 'login');
};

/** SMS to numbers of one block (all digits but the last three): the block's cap (10 an hour). */
const smsOneBlock: Scenario['run'] = async (generator, scenario) => {
  for (let i = 0; i < 2; i++) await send(generator, scenario, randomIp(), phone('FR', '+33612345'));
};

/**
 * Wrong codes: a burst of wrong guesses at one code at once (at most 3 may be compared), then the
 * right code (too late: the code is used up), then more codes and wrong guesses with their otpTokens,
 * past the run's lock-out (OTP_MAX_FAILURES_PER_TARGET, settings.ts), then the right code once more.
 */
const guesses: Scenario['run'] = async (generator, scenario) => {
  const ip = randomIp();
  const target = Math.random() < 0.7 ? email(generator) : phone(pickOne(ORDINARY_COUNTRIES) ?? 'US');
  let sent = await send(generator, scenario, ip, target);
  if (sent.answer.status !== 200 || !sent.code) return;
  const guessAt = (code: Sent, times: number) =>
    Promise.all(
      Array.from({ length: times }, () =>
        verify(generator, scenario, randomIp(), {
          target,
          ...(code.otpToken ? { otpToken: code.otpToken } : {}),
          code: wrongCode(code.code),
          right: false,
        }),
      ),
    );
  await guessAt(sent, 5);
  await verify(generator, scenario, ip, { target, otpToken: sent.otpToken, code: sent.code, right: true });
  for (let round = 0; round < 4; round++) {
    await sleep(COOLDOWN_MS);
    const next = await send(generator, scenario, ip, target);
    if (next.answer.status !== 200 || !next.code) break;
    sent = next;
    await guessAt(sent, 2);
  }
  if (sent.code)
    await verify(generator, scenario, ip, { target, otpToken: sent.otpToken, code: sent.code, right: true });
};

/** The right code three times at once (one session at most), then once more (used: 401). */
const replays: Scenario['run'] = async (generator, scenario) => {
  const ip = randomIp();
  const target = Math.random() < 0.7 ? email(generator) : phone(pickOne(ORDINARY_COUNTRIES) ?? 'US');
  const sent = await send(generator, scenario, ip, target);
  if (sent.answer.status !== 200 || !sent.code) return;
  const code = sent.code;
  await Promise.all(
    Array.from({ length: 3 }, () => verify(generator, scenario, randomIp(), { target, code, right: true })),
  );
  await verify(generator, scenario, ip, { target, otpToken: sent.otpToken, code, right: true });
};

/**
 * A send repeated with its Idempotency-Key: twice at once, once after (the first answer again, nothing
 * sent), once with another body (422); then the code verifies once.
 */
const idempotentSends: Scenario['run'] = async (generator, scenario) => {
  const ip = randomIp();
  const target = email(generator);
  const idempotencyKey = `soak-${randomBytes(12).toString('base64url')}`;
  const firsts = await Promise.all([
    send(generator, scenario, ip, target, 'login', { idempotencyKey }),
    send(generator, scenario, ip, target, 'login', { idempotencyKey }),
  ]);
  const again = await send(generator, scenario, ip, target, 'login', { idempotencyKey });
  await send(generator, scenario, ip, target, 'login', { idempotencyKey, locale: 'de' });
  const sent = [again, ...firsts].find((answer) => answer.answer.status === 200 && answer.code);
  if (sent) await verifySent(generator, scenario, ip, target, sent, 'login');
};

export const SCENARIOS: readonly Scenario[] = [
  { name: 'login-email', weight: 16, run: loginFlow('email', 'login') },
  { name: 'login-sms', weight: 12, run: loginFlow('sms', 'login') },
  { name: 'register', weight: 4, run: loginFlow('email', 'register') },
  { name: 'step-up', weight: 6, run: stepUp },
  { name: 'link', weight: 6, run: link },
  { name: 'refresh-race', weight: 6, run: refreshRace },
  { name: 'revoke', weight: 5, run: revokeOne },
  { name: 'revoke-all', weight: 3, run: revokeAll },
  { name: 'session-check', weight: 8, run: sessionCheck },
  { name: 'abuse-one-target', weight: 4, run: hammerTarget },
  { name: 'abuse-one-ip', weight: 4, run: manyTargetsOneIp },
  { name: 'abuse-sms-country', weight: 3, run: smsOneCountry },
  { name: 'abuse-sms-block', weight: 2, run: smsOneBlock },
  { name: 'guess', weight: 6, run: guesses },
  { name: 'replay', weight: 5, run: replays },
  { name: 'idempotent-send', weight: 4, run: idempotentSends },
];
