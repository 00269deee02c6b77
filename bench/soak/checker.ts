/**
 * The soak's checker: after the load, reads the three tables directly (a consistent scan of each)
 * and holds them, with every answer the generator recorded (records.ts), against the data rules of
 * DESIGN.md and API.md. Each invariant reports how much it checked and the first violations it found.
 * It is a function of an endpoint, its tables, the server's configuration and the answers, so that a
 * test can run it on a database seeded with a broken state (test/soak/checker.integration.test.ts).
 */
import { createHash } from 'node:crypto';
import { type DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamoClient } from '../../functions/adapters/dynamo/client.js';
import { customerKey, stateKey } from '../../functions/adapters/dynamo/keys.js';
import { loadConfig, type OtpConfig } from '../../functions/config.js';
import { hashCode, opaqueKey } from '../../functions/core/codes.js';
import { ipBucket } from '../../functions/core/network.js';
import type { Purpose } from '../../functions/core/purposes.js';
import { numberBlockOf, shardShare } from '../../functions/core/sms-protection.js';
import { mailboxOf, normaliseTarget, type Target } from '../../functions/core/targets.js';
import type { AnswerRecord } from './records.js';

export interface Tables {
  stateTable: string;
  customersTable: string;
  clientsTable: string;
}

export interface CheckOptions {
  endpoint: string;
  tables: Tables;
  /** The server's environment: its pepper and limits, read as the server reads them. */
  env: Record<string, string | undefined>;
  records: readonly AnswerRecord[];
  /** The running server: every session token handed out is checked at GET /v1/session too. */
  baseUrl?: string;
  /** The server's warnings by message (its log): a guess it logged as not settled stays reserved by design. */
  serverWarnings?: Record<string, number>;
}

/**
 * What the verify logs when it could not settle a wrong code, or give a place back, because the
 * database failed: the place then stays reserved until the run lapses (functions/core/verify-code.ts).
 */
export const UNSETTLED_WARNINGS = ['wrong code not settled', 'guess not given back'];

export type InvariantName =
  | 'no-5xx'
  | 'code-single-use'
  | 'session-from-code'
  | 'attempts-max'
  | 'counter-limits'
  | 'refused-not-counted'
  | 'one-customer-per-target'
  | 'sessions-readable'
  | 'refresh-families';

export interface InvariantResult {
  name: InvariantName;
  title: string;
  pass: boolean;
  /** How many things (answers, items, tokens) the check looked at. */
  checked: number;
  /** What was checked, in words and counts. */
  detail: string;
  violations: string[];
  /** Every violation, where `violations` keeps only the first few. */
  violationCount: number;
}

type Item = Record<string, unknown>;

const SESSION_PURPOSES = new Set(['login', 'register', 'step-up', 'reset-password']);
const SHOWN = 8;

const sha256 = (token: string) => createHash('sha256').update(token).digest('base64url');
const num = (item: Item, name: string): number | undefined => (typeof item[name] === 'number' ? item[name] : undefined);
const str = (item: Item, name: string): string | undefined => (typeof item[name] === 'string' ? item[name] : undefined);
const short = (value: string | undefined) =>
  value === undefined ? '-' : value.length > 16 ? `${value.slice(0, 12)}…` : value;

class Findings {
  private readonly found: string[] = [];
  count = 0;
  add(text: string): void {
    this.count++;
    if (this.found.length < SHOWN) this.found.push(text);
  }
  result(name: InvariantName, title: string, checked: number, detail: string): InvariantResult {
    return {
      name,
      title,
      pass: this.count === 0,
      checked,
      detail,
      violations: [...this.found],
      violationCount: this.count,
    };
  }
}

async function scan(client: DynamoDBClient, table: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    for (const raw of page.Items ?? []) items.push(unmarshall(raw));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The state table's items by kind (the part of `pk` before its first `#`). */
function byKind(items: Item[]): Map<string, Item[]> {
  const kinds = new Map<string, Item[]>();
  for (const item of items) {
    const pk = String(item.pk);
    const kind = pk.slice(0, pk.indexOf('#'));
    kinds.set(kind, [...(kinds.get(kind) ?? []), item]);
  }
  return kinds;
}

function normalise(raw: string | undefined): Target | undefined {
  if (raw === undefined) return undefined;
  try {
    return normaliseTarget(raw);
  } catch {
    return undefined;
  }
}

/** What the answers say, indexed the ways the checks read it. */
class Answers {
  readonly newSends: AnswerRecord[];
  readonly verified: AnswerRecord[];
  readonly refreshed: AnswerRecord[];
  /** Session token -> the 200 answer that handed it out. */
  readonly issuedBy = new Map<string, AnswerRecord>();
  /** Refresh token -> the sid of the family it belongs to. */
  readonly familyOfRefresh = new Map<string, string>();
  /** Session token -> sid. */
  readonly familyOfToken = new Map<string, string>();
  /** sid -> the verify that opened the family. */
  readonly opened = new Map<string, AnswerRecord>();

  constructor(readonly all: readonly AnswerRecord[]) {
    this.newSends = all.filter((r) => r.route === 'send' && r.status === 200 && !r.replayed);
    this.verified = all.filter((r) => r.route === 'verify' && r.status === 200);
    this.refreshed = all.filter((r) => r.route === 'refresh' && r.status === 200);
    for (const record of [...this.verified, ...this.refreshed]) {
      if (record.sessionToken) this.issuedBy.set(record.sessionToken, record);
      if (record.sid) {
        if (record.sessionToken) this.familyOfToken.set(record.sessionToken, record.sid);
        if (record.refreshToken) this.familyOfRefresh.set(record.refreshToken, record.sid);
        if (record.route === 'verify') this.opened.set(record.sid, record);
      }
    }
  }
}

export async function checkInvariants(options: CheckOptions): Promise<InvariantResult[]> {
  const config = loadConfig(options.env);
  if (!config.pepper) throw new Error('the checker needs the server pepper (OTP_PEPPER)');
  const client = dynamoClient(options.endpoint);
  let state: Item[];
  let customers: Item[];
  try {
    [state, customers] = await Promise.all([
      scan(client, options.tables.stateTable),
      scan(client, options.tables.customersTable),
    ]);
  } finally {
    client.destroy();
  }
  const db: Db = { kinds: byKind(state), byPk: new Map(state.map((item) => [String(item.pk), item])), customers };
  const answers = new Answers(options.records);
  const unsettledLogged = UNSETTLED_WARNINGS.reduce(
    (sum, message) => sum + (options.serverWarnings?.[message] ?? 0),
    0,
  );
  const context: Context = { config: config as Config, db, answers, unsettledLogged };
  return [
    noServerErrors(answers),
    codeSingleUse(context),
    sessionFromCode(context),
    attemptsMax(context),
    counterLimits(context),
    refusedNotCounted(context),
    oneCustomerPerTarget(context),
    await sessionsReadable(context, options.baseUrl),
    refreshFamilies(context),
  ];
}

type Config = OtpConfig & { pepper: string };
interface Db {
  kinds: Map<string, Item[]>;
  byPk: Map<string, Item>;
  customers: Item[];
}
interface Context {
  config: Config;
  db: Db;
  answers: Answers;
  /** Guesses the server logged as left reserved (UNSETTLED_WARNINGS). */
  unsettledLogged: number;
}

const kind = (db: Db, name: string) => db.kinds.get(name) ?? [];

function noServerErrors(answers: Answers): InvariantResult {
  const findings = new Findings();
  for (const record of answers.all) {
    if (record.status >= 500 || record.status === 0) {
      findings.add(`${record.route} (${record.scenario}) answered ${record.status} ${record.slug ?? ''}`.trim());
    }
  }
  return findings.result(
    'no-5xx',
    'zero 5xx, every request answered',
    answers.all.length,
    `${answers.all.length} answers`,
  );
}

/** The stored form of the code a verify answered 200 for, by its normalised target. */
function codeOf(config: Config, record: AnswerRecord) {
  const address = record.verifiedTarget ?? '';
  const purpose = (record.purpose ?? 'login') as Purpose;
  const code = record.code ?? '';
  return {
    id: `${address}|${purpose}|${code}`,
    pk: stateKey.code(opaqueKey(config.pepper, 'target', address), purpose),
    hash: hashCode(config.pepper, address, purpose, code),
  };
}

/** Each code answers 200 at most once, and a code that did is no longer stored (it was consumed). */
function codeSingleUse({ config, db, answers }: Context): InvariantResult {
  const findings = new Findings();
  const uses = new Map<string, number>();
  let stillStored = 0;
  for (const record of answers.verified) {
    const code = codeOf(config, record);
    uses.set(code.id, (uses.get(code.id) ?? 0) + 1);
    const item = db.byPk.get(code.pk);
    if (item && item.codeHash === code.hash) {
      stillStored++;
      findings.add(`code of ${short(record.verifiedTarget)} (${record.purpose}) answered 200 and is still stored`);
    }
  }
  for (const [id, count] of uses) {
    if (count > 1) findings.add(`code ${id.replace(/\|\d+$/, '|…')} answered 200 ${count} times`);
  }
  const tried = answers.all.filter((r) => r.route === 'verify' && r.rightCode).length;
  return findings.result(
    'code-single-use',
    'no code verified twice',
    uses.size,
    `${uses.size} codes verified (200) out of ${tried} verifies of a right code; ${stillStored} still stored`,
  );
}

/**
 * Every session and family in the table comes from a verify that answered 200 (a family per login,
 * its session tokens handed out by that verify or by a refresh of it), whose code was sent and is
 * consumed (codeSingleUse); and every verify that answered 200 with a session has its family stored.
 */
function sessionFromCode({ db, answers }: Context): InvariantResult {
  const findings = new Findings();
  const sent = new Set(
    answers.newSends.flatMap((r) => {
      const target = normalise(r.target);
      return target && r.mockCode ? [`${target.address}|${r.purpose ?? 'login'}|${r.mockCode}`] : [];
    }),
  );
  // A replayed send answers the first one's code again: it was sent once.
  for (const record of answers.verified) {
    if (!sent.has(`${record.verifiedTarget}|${record.purpose ?? 'login'}|${record.code}`)) {
      findings.add(`verify 200 of ${short(record.verifiedTarget)} (${record.purpose}) with a code no send answered`);
    }
  }
  const families = kind(db, 'family');
  for (const family of families) {
    const sid = String(family.pk).slice('family#'.length);
    const opener = answers.opened.get(sid);
    if (!opener) findings.add(`family ${short(sid)} stored without a verify that answered 200`);
    else if (!SESSION_PURPOSES.has(opener.purpose ?? 'login'))
      findings.add(`family ${short(sid)} from a ${opener.purpose}`);
  }
  const sessionVerifies = answers.verified.filter((r) => SESSION_PURPOSES.has(r.purpose ?? 'login'));
  for (const record of sessionVerifies) {
    if (!record.sid || !db.byPk.has(stateKey.family(record.sid))) {
      findings.add(`verify 200 (${record.purpose}) whose family ${short(record.sid)} is not stored`);
    }
  }
  const handedOut = new Set([...answers.issuedBy.keys()].map(sha256));
  const sessions = kind(db, 'session');
  for (const session of sessions) {
    const hash = String(session.pk).slice('session#'.length);
    if (!handedOut.has(hash)) findings.add(`session ${short(hash)} whose token no verify or refresh handed out`);
    const sid = str(session, 'sid');
    if (!sid || !answers.opened.has(sid)) findings.add(`session ${short(hash)} of family ${short(sid)} from no verify`);
  }
  return findings.result(
    'session-from-code',
    'no session without a consumed code',
    sessions.length + families.length,
    `${sessions.length} session items and ${families.length} families against ${sessionVerifies.length} verifies answered 200 with a session`,
  );
}

/**
 * No code item has more attempts than its maximum; and in the answers, no code (by its otpToken) had
 * more wrong guesses answered 401 than the maximum, nor answered 200 after that many.
 */
function attemptsMax({ config, db, answers }: Context): InvariantResult {
  const findings = new Findings();
  const codes = kind(db, 'code');
  for (const code of codes) {
    const attempts = num(code, 'attempts') ?? 0;
    const max = Math.min(num(code, 'maxAttempts') ?? config.maxAttempts, config.maxAttempts);
    if (attempts > max || attempts < 0) findings.add(`code item with ${attempts} attempts (max ${max})`);
  }
  const byToken = new Map<string, AnswerRecord[]>();
  for (const record of answers.all) {
    if (record.route !== 'verify' || !record.otpToken) continue;
    byToken.set(record.otpToken, [...(byToken.get(record.otpToken) ?? []), record]);
  }
  let guessed = 0;
  for (const tries of byToken.values()) {
    const wrong = tries.filter((r) => !r.rightCode && r.status === 401);
    if (tries.some((r) => !r.rightCode)) guessed++;
    if (wrong.length > config.maxAttempts) {
      findings.add(`a code had ${wrong.length} wrong guesses answered 401 (max ${config.maxAttempts})`);
    }
    for (const right of tries.filter((r) => r.rightCode && r.status === 200)) {
      const before = wrong.filter((r) => r.end < right.start).length;
      if (before >= config.maxAttempts) findings.add(`a code answered 200 after ${before} wrong guesses`);
    }
  }
  return findings.result(
    'attempts-max',
    'attempts never above the maximum',
    codes.length + guessed,
    `${codes.length} code items (max ${config.maxAttempts}), ${guessed} codes guessed at with their otpToken`,
  );
}

/** Sums of a counter's items over its shards, by the key they share. */
function shardSums(items: Item[], keyOf: (pk: string) => string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const item of items) {
    const key = keyOf(String(item.pk));
    sums.set(key, (sums.get(key) ?? 0) + (num(item, 'sends') ?? 0));
  }
  return sums;
}

const withoutShard = (pk: string) => pk.slice(0, pk.lastIndexOf('#'));
const shardOf = (pk: string) => Number(pk.slice(pk.lastIndexOf('#') + 1));

/** Every conditional counter is within its limit (per shard and summed), and runs of wrong codes within theirs. */
function counterLimits({ config, db, answers, unsettledLogged }: Context): InvariantResult {
  const findings = new Findings();
  const mailboxes = new Map<string, string>();
  for (const record of answers.all) {
    const target = normalise(record.target);
    if (target)
      mailboxes.set(opaqueKey(config.pepper, 'target', mailboxOf(target)), `${mailboxOf(target)} (${record.scenario})`);
  }
  let checked = 0;
  const counts: string[] = [];
  for (const item of kind(db, 'send')) {
    checked++;
    const day = num(item, 'day') ?? 0;
    if (day > config.sendLimitPerDay) findings.add(`send counter at ${day} a day (limit ${config.sendLimitPerDay})`);
    for (const [name, value] of Object.entries(item)) {
      if (/^h\d+$/.test(name) && typeof value === 'number' && value > config.sendLimitPerHour) {
        findings.add(`send counter at ${value} in hour ${name} (limit ${config.sendLimitPerHour})`);
      }
    }
  }
  counts.push(`${kind(db, 'send').length} mailbox`);
  const capped = (name: string, label: string, limit: number) => {
    const items = kind(db, name);
    counts.push(`${items.length} ${label}`);
    for (const item of items) {
      checked++;
      const sends = num(item, 'sends') ?? 0;
      if (limit > 0 && sends > limit) findings.add(`${label} counter at ${sends} (limit ${limit})`);
    }
  };
  capped('ip', 'IP', config.sendLimitPerIpPerHour);
  capped('smsblock', 'number block', config.smsLimitPerPrefixPerHour);
  const sharded = (name: string, label: string, limit: number) => {
    const items = kind(db, name);
    counts.push(`${items.length} ${label} shards`);
    if (limit <= 0) return;
    for (const item of items) {
      checked++;
      const pk = String(item.pk);
      const share = shardShare(limit, config.counterShards, shardOf(pk));
      const sends = num(item, 'sends') ?? 0;
      if (sends > share)
        findings.add(`${label} shard ${pk.split('#').slice(1).join('#')} at ${sends} (share ${share})`);
    }
    for (const [key, sum] of shardSums(items, withoutShard)) {
      if (sum > limit) findings.add(`${label} ${key.split('#').slice(1).join('#')} at ${sum} (limit ${limit})`);
    }
  };
  sharded('smscountry', 'country', config.smsLimitPerCountryPerHour);
  sharded('smsall', 'deployment SMS', config.smsLimitPerHour);
  const runs = kind(db, 'fails');
  counts.push(`${runs.length} runs of wrong codes`);
  const unsettled: string[] = [];
  for (const run of runs) {
    checked++;
    const failures = num(run, 'failures') ?? 0;
    const pending = num(run, 'pending') ?? 0;
    if (failures > config.maxFailuresPerTarget) {
      findings.add(`run of ${failures} wrong codes (limit ${config.maxFailuresPerTarget})`);
    }
    // At rest (no request in flight), every reserved guess has been settled or given back.
    if (failures - pending < 0 || pending < 0) findings.add(`run with ${failures} places and ${pending} unsettled`);
    const mailbox = mailboxes.get(String(run.pk).slice('fails#'.length)) ?? 'a mailbox';
    for (let i = 0; i < pending; i++)
      unsettled.push(`run of ${mailbox} with ${failures} places and ${pending} unsettled`);
  }
  // At rest (no request in flight) every reserved guess has been settled or given back, but for those
  // the server logged it could not settle (the database failed it): those stay reserved by design.
  for (const violation of unsettled.slice(unsettledLogged)) findings.add(violation);
  if (unsettled.length > 0)
    counts.push(`${unsettled.length} places unsettled, ${unsettledLogged} logged by the server as not settled`);
  return findings.result('counter-limits', 'no counter above its limit', checked, counts.join(', '));
}

/**
 * A refused send counts against nothing: each counter holds exactly the sends answered 200 (replays
 * of an Idempotency-Key excepted) that it covers, summed over its hours, days and shards.
 */
function refusedNotCounted({ config, db, answers }: Context): InvariantResult {
  const findings = new Findings();
  const expected = new Map<string, number>();
  const bump = (key: string) => expected.set(key, (expected.get(key) ?? 0) + 1);
  for (const record of answers.newSends) {
    const target = normalise(record.target);
    if (!target) continue;
    bump(`send#${opaqueKey(config.pepper, 'target', mailboxOf(target))}`);
    if (config.sendLimitPerIpPerHour > 0) bump(`ip#${opaqueKey(config.pepper, 'ip', ipBucket(record.ip))}`);
    if (target.channel === 'sms' && target.country) {
      if (config.smsLimitPerPrefixPerHour > 0) {
        bump(`smsblock#${opaqueKey(config.pepper, 'block', numberBlockOf(target.address))}`);
      }
      if (config.smsLimitPerCountryPerHour > 0) bump(`smscountry#${target.country}`);
      if (config.smsLimitPerHour > 0) bump('smsall');
    }
  }
  const stored = new Map<string, number>();
  const add = (key: string, value: number) => stored.set(key, (stored.get(key) ?? 0) + value);
  for (const item of kind(db, 'send')) add(String(item.pk).split('#').slice(0, 2).join('#'), num(item, 'day') ?? 0);
  for (const name of ['ip', 'smsblock', 'smscountry']) {
    for (const item of kind(db, name)) add(String(item.pk).split('#').slice(0, 2).join('#'), num(item, 'sends') ?? 0);
  }
  for (const item of kind(db, 'smsall')) add('smsall', num(item, 'sends') ?? 0);
  const keys = new Set([...expected.keys(), ...stored.keys()]);
  for (const key of keys) {
    const want = expected.get(key) ?? 0;
    const got = stored.get(key) ?? 0;
    // A mailbox counter that only carries a cooldown or a lock has no sends of its own.
    if (want !== got)
      findings.add(`${key.split('#')[0]} ${short(key.split('#')[1])}: ${got} counted, ${want} sends answered 200`);
  }
  return findings.result(
    'refused-not-counted',
    'counters hold exactly the sends answered 200',
    keys.size,
    `${keys.size} counters against ${answers.newSends.length} sends answered 200`,
  );
}

/**
 * One customer per target: each lookup item leads to a customer that holds the target under that
 * key, each identifier of a customer has its lookup item pointing back, no two customers share an
 * e-mail or a phone; and every 200 verify of a target named the same customer, new at most once.
 */
function oneCustomerPerTarget({ config, db, answers }: Context): InvariantResult {
  const findings = new Findings();
  const lookups = new Map<string, Item>();
  const customers = new Map<string, Item>();
  for (const item of db.customers) {
    const pk = String(item.pk);
    if (pk.startsWith(customerKey.target(''))) lookups.set(pk, item);
    else if (pk.startsWith(customerKey.customer(''))) customers.set(String(item.id), item);
    else findings.add(`customers table item ${short(pk)} that is neither a customer nor a lookup`);
  }
  for (const [pk, lookup] of lookups) {
    const key = pk.slice(customerKey.target('').length);
    const customer = customers.get(String(lookup.customerId));
    const field = lookup.channel === 'sms' ? 'phoneKey' : 'emailKey';
    if (!customer) findings.add(`lookup ${short(key)} leads to no customer`);
    else if (customer[field] !== key) findings.add(`lookup ${short(key)} leads to a customer that holds another key`);
  }
  const holders = new Map<string, string[]>();
  let identifiers = 0;
  for (const [id, customer] of customers) {
    for (const [field, keyField] of [
      ['email', 'emailKey'],
      ['phone', 'phoneKey'],
    ] as const) {
      const address = str(customer, field);
      if (address === undefined) continue;
      identifiers++;
      holders.set(address, [...(holders.get(address) ?? []), id]);
      const key = opaqueKey(config.pepper, 'target', address);
      if (customer[keyField] !== key) findings.add(`customer ${short(id)}'s ${field} is not under its key`);
      const lookup = lookups.get(customerKey.target(key));
      if (lookup?.customerId !== id) findings.add(`customer ${short(id)}'s ${field} has no lookup item of its own`);
    }
  }
  for (const [address, ids] of holders) {
    if (ids.length > 1) findings.add(`${ids.length} customers hold ${short(address)}`);
  }
  if (identifiers !== lookups.size) findings.add(`${lookups.size} lookup items for ${identifiers} identifiers`);
  const answered = new Map<string, AnswerRecord[]>();
  for (const record of answers.verified) {
    if (!record.verifiedTarget) continue;
    answered.set(record.verifiedTarget, [...(answered.get(record.verifiedTarget) ?? []), record]);
  }
  for (const [target, records] of answered) {
    const ids = new Set(records.map((r) => r.customerId));
    if (ids.size > 1) findings.add(`verifies of ${short(target)} answered ${ids.size} different customers`);
    const created = records.filter((r) => r.isNew).length;
    if (created > 1) findings.add(`verifies of ${short(target)} created ${created} customers`);
    for (const id of ids) if (id && !customers.has(id)) findings.add(`customer ${short(id)} answered but not stored`);
  }
  return findings.result(
    'one-customer-per-target',
    'one customer per target',
    lookups.size + answered.size,
    `${customers.size} customers, ${lookups.size} lookup items, ${answered.size} targets verified`,
  );
}

type Expectation = 'live' | 'ended' | 'either';

/**
 * What each session token handed out should be now, from the answers: ended when a refresh rotated it
 * away, when its login was ended (a logout with any of its tokens, a refresh refused for reuse or
 * revocation, a revoke-all of its customer that started after the login answered); either when a
 * revoke-all overlapped its login or it is about to expire; live otherwise.
 */
function expectations(answers: Answers, now: number): Map<string, Expectation> {
  const endedFamilies = new Set<string>();
  const rotatedAway = new Set(answers.refreshed.flatMap((r) => (r.presented ? [r.presented] : [])));
  for (const record of answers.all) {
    if (record.route === 'revoke' && record.token && (record.status === 204 || record.status === 401)) {
      const sid = answers.familyOfToken.get(record.token);
      if (sid) endedFamilies.add(sid);
    }
    if (record.route === 'refresh' && record.status === 401 && record.presented) {
      const sid = answers.familyOfRefresh.get(record.presented);
      if (sid) endedFamilies.add(sid);
    }
  }
  const revokeAlls = answers.all.filter((r) => r.route === 'revoke-all' && r.status === 204 && r.token);
  // A refresh's answer may not name the customer: its family's login does.
  const customerOf = (token: string) => {
    const sid = answers.familyOfToken.get(token);
    return (sid ? answers.opened.get(sid)?.customerId : undefined) ?? answers.issuedBy.get(token)?.customerId;
  };
  const result = new Map<string, Expectation>();
  for (const [token, record] of answers.issuedBy) {
    if (!SESSION_PURPOSES.has(record.purpose ?? 'login') && record.route === 'verify') continue;
    const sid = record.sid;
    const opened = sid ? answers.opened.get(sid) : undefined;
    let expectation: Expectation = 'live';
    const refreshToken = record.refreshToken;
    if ((refreshToken && rotatedAway.has(refreshToken)) || (sid && endedFamilies.has(sid))) expectation = 'ended';
    else {
      for (const all of revokeAlls) {
        if (!opened || customerOf(all.token ?? '') !== opened.customerId) continue;
        // Answered before the revoke-all was sent (one millisecond clock: sequential calls may share one).
        if (opened.end <= all.start) expectation = 'ended';
        else if (opened.start <= all.end && expectation === 'live') expectation = 'either';
      }
    }
    if (expectation === 'live' && (record.expiresAt ?? Infinity) < now + 10_000) expectation = 'either';
    result.set(token, expectation);
  }
  return result;
}

async function mapBounded<T, R>(items: readonly T[], limit: number, each: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await each(items[index] as T);
      }
    }),
  );
  return results;
}

/**
 * Every session token a 200 verify or refresh handed out that was not rotated away or revoked is
 * readable (its item live in the table, and GET /v1/session answers 200 for its customer); every
 * ended one is not.
 */
async function sessionsReadable({ db, answers }: Context, baseUrl: string | undefined): Promise<InvariantResult> {
  const findings = new Findings();
  const expected = expectations(answers, Date.now());
  const tally = { live: 0, ended: 0, either: 0 };
  const tokens = [...expected.entries()];
  for (const [token, expectation] of tokens) {
    tally[expectation]++;
    const item = db.byPk.get(stateKey.session(sha256(token)));
    const liveItem = item !== undefined && item.revokedAt === undefined;
    if (expectation === 'live' && !liveItem)
      findings.add(`session ${short(sha256(token))} should be live: ${item ? 'revoked' : 'no item'}`);
    if (expectation === 'ended' && liveItem)
      findings.add(`session ${short(sha256(token))} should have ended: its item is live`);
  }
  if (baseUrl) {
    const statuses = await mapBounded(tokens, 8, async ([token]) => {
      const response = await fetch(`${baseUrl}/v1/session`, { headers: { Authorization: `Bearer ${token}` } });
      const body = (await response.json()) as { customerId?: string };
      return { status: response.status, customerId: body.customerId };
    });
    tokens.forEach(([token, expectation], index) => {
      const answer = statuses[index] as { status: number; customerId?: string };
      const customerId = answers.issuedBy.get(token)?.customerId;
      if (expectation === 'live' && (answer.status !== 200 || (customerId && answer.customerId !== customerId))) {
        findings.add(`GET /v1/session of a live session answered ${answer.status}`);
      }
      if (expectation === 'ended' && answer.status !== 401)
        findings.add(`GET /v1/session of an ended session answered ${answer.status}`);
    });
  }
  return findings.result(
    'sessions-readable',
    'every session a 200 verify returned is readable (unless rotated or revoked)',
    tokens.length,
    `${tokens.length} session tokens: ${tally.live} live, ${tally.ended} ended, ${tally.either} either (revoke-all raced the login)` +
      (baseUrl ? '; each read at GET /v1/session and in the table' : '; read in the table only'),
  );
}

/**
 * Each family has one current session and refresh token: a live family's current session item is
 * live and its current refresh item leads back to it; an ended family's session is gone or revoked
 * and it is out of the sessions index; every other session of it is a revoked tombstone; no session
 * names a family that is not stored, and no refresh token that an answer handed out does. A refresh
 * item of a family never stored is a login refused or failed beside its put (its token's item is
 * written beside the login's transaction, functions/adapters/dynamo/refresh.ts loginFamily), whose
 * token no answer handed out: counted, not a violation. In the answers: a refresh token rotated at
 * most once, a family's refresh items are its login's plus one per 200 refresh, and a family whose
 * refresh token was presented twice (reuse) is revoked.
 */
function refreshFamilies({ db, answers }: Context): InvariantResult {
  const findings = new Findings();
  const families = new Map(kind(db, 'family').map((item) => [String(item.pk).slice('family#'.length), item]));
  const sessionsOf = new Map<string, Item[]>();
  const refreshesOf = new Map<string, Item[]>();
  const handedOut = new Set(
    answers.all.flatMap((record) =>
      record.status === 200 && record.refreshToken ? [sha256(record.refreshToken)] : [],
    ),
  );
  let unused = 0;
  for (const [name, groups] of [
    ['session', sessionsOf],
    ['refresh', refreshesOf],
  ] as const) {
    for (const item of kind(db, name)) {
      const sid = str(item, 'sid') ?? '';
      groups.set(sid, [...(groups.get(sid) ?? []), item]);
      if (families.has(sid)) continue;
      if (name === 'refresh' && !handedOut.has(String(item.pk).slice('refresh#'.length))) {
        unused++;
        continue;
      }
      findings.add(`${name} item of family ${short(sid)}, which is not stored`);
    }
  }
  for (const [sid, family] of families) {
    const revoked = family.revokedAt !== undefined;
    const current = str(family, 'currentSessionHash');
    const currentRefresh = str(family, 'currentRefreshHash');
    const session = current === undefined ? undefined : db.byPk.get(stateKey.session(current));
    if (!current) findings.add(`family ${short(sid)} without a current session`);
    if (!revoked) {
      if (!session || session.revokedAt !== undefined || session.sid !== sid) {
        findings.add(
          `live family ${short(sid)} whose current session is ${session ? "revoked or another family's" : 'missing'}`,
        );
      }
      if (family.sessionsOf !== family.customerId) findings.add(`live family ${short(sid)} not in the sessions index`);
      if (currentRefresh !== undefined) {
        const refresh = db.byPk.get(stateKey.refresh(currentRefresh));
        if (!refresh || refresh.sid !== sid || refresh.sessionHash !== current) {
          findings.add(`live family ${short(sid)} whose current refresh token does not lead to its session`);
        }
      }
    } else {
      if (session && session.revokedAt === undefined) findings.add(`revoked family ${short(sid)} with a live session`);
      if (family.sessionsOf !== undefined) findings.add(`revoked family ${short(sid)} still in the sessions index`);
    }
    for (const other of sessionsOf.get(sid) ?? []) {
      const hash = String(other.pk).slice('session#'.length);
      if (hash !== current && other.revokedAt === undefined)
        findings.add(`family ${short(sid)} with a second live session`);
    }
    for (const refresh of refreshesOf.get(sid) ?? []) {
      const hash = String(refresh.pk).slice('refresh#'.length);
      if (hash === currentRefresh) continue;
      const old = db.byPk.get(stateKey.session(String(refresh.sessionHash)));
      if (!old || old.revokedAt === undefined) {
        findings.add(`family ${short(sid)}: a rotated-away session is ${old ? 'live' : 'missing'} (no tombstone)`);
      }
    }
  }
  const presented = new Map<string, AnswerRecord[]>();
  for (const record of answers.all) {
    if (record.route !== 'refresh' || !record.presented) continue;
    presented.set(record.presented, [...(presented.get(record.presented) ?? []), record]);
  }
  const rotations = new Map<string, number>();
  let reused = 0;
  for (const [token, records] of presented) {
    const wins = records.filter((r) => r.status === 200);
    if (wins.length > 1) findings.add(`a refresh token answered 200 ${wins.length} times`);
    const sid = answers.familyOfRefresh.get(token);
    if (!sid) continue;
    rotations.set(sid, (rotations.get(sid) ?? 0) + wins.length);
    if (records.length > 1 || (wins.length === 0 && records.some((r) => r.status === 401))) {
      reused++;
      if (families.get(sid)?.revokedAt === undefined)
        findings.add(`family ${short(sid)} refreshed with a used token, not revoked`);
    }
  }
  let withRefresh = 0;
  for (const [sid, family] of families) {
    if (family.currentRefreshHash === undefined) continue;
    withRefresh++;
    const items = refreshesOf.get(sid)?.length ?? 0;
    const expected = 1 + (rotations.get(sid) ?? 0);
    if (items !== expected)
      findings.add(`family ${short(sid)} with ${items} refresh tokens after ${expected - 1} refreshes`);
  }
  return findings.result(
    'refresh-families',
    'refresh families consistent',
    families.size,
    `${families.size} families (${withRefresh} with refresh tokens), ${answers.refreshed.length} refreshes answered 200, ${reused} refresh tokens presented again, ${unused} refresh tokens of logins refused beside their put (never handed out)`,
  );
}
