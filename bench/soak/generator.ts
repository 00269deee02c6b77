/**
 * What the soak's virtual users call the API with (generator-main.ts runs them): plain node:http,
 * one connection per request from the source address the scenario chose, and a record of every
 * answer (records.ts) appended to the run's file.
 */
import { createWriteStream } from 'node:fs';
import { request } from 'node:http';
import type { AnswerRecord, Route } from './records.js';
import { sidOf } from './records.js';

export interface GeneratorSummary {
  seconds: number;
  users: number;
  /** Scenario runs per scenario. */
  runs: Record<string, number>;
  /** Scenario runs that threw (a bug of the generator, or an answer it could not read). */
  errors: number;
  firstError?: string;
}

/** One request's answer as a scenario reads it. */
export interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

export interface Call {
  route: Route;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Source address, 127.x.y.z: each one is a network of its own to the per-IP limit. */
  ip: string;
  /** What the record keeps of the request, beside what it learns from the answer. */
  note?: Partial<AnswerRecord>;
}

const REQUEST_TIMEOUT_MS = 30_000;

export class Generator {
  private readonly out;
  /** Session tokens handed out so far, live or not, for the session checks. */
  readonly tokens: string[] = [];
  /** Logins whose session was live when last seen: for step-ups, links and session checks. */
  readonly logins: Login[] = [];
  private next = 0;

  constructor(
    private readonly port: number,
    file: string,
    readonly run: string,
  ) {
    this.out = createWriteStream(file, { flags: 'a' });
  }

  /** A number unique in this run, for targets and keys. */
  unique(): number {
    return this.next++;
  }

  async call(scenario: string, call: Call): Promise<Answer> {
    const start = Date.now();
    let answer: Answer;
    try {
      answer = await this.http(call);
    } catch (error) {
      answer = { status: 0, body: { error: error instanceof Error ? error.message : String(error) }, headers: {} };
    }
    const end = Date.now();
    const { body } = answer;
    const text = (name: string) => (typeof body[name] === 'string' ? body[name] : undefined);
    const record: AnswerRecord = {
      scenario,
      route: call.route,
      status: answer.status,
      start,
      end,
      ip: call.ip,
      ...call.note,
    };
    if (answer.status >= 300 || answer.status === 0) {
      record.slug = text('error') ?? (answer.status === 0 ? 'no-answer' : undefined);
      if (text('reason')) record.reason = text('reason');
    }
    if (answer.status === 200 && call.route === 'send') {
      record.otpToken = text('otpToken');
      record.mockCode = text('mockCode');
      record.replayed = answer.headers['idempotent-replayed'] === 'true';
    }
    if (answer.status === 200 && (call.route === 'verify' || call.route === 'refresh')) {
      const identity = body.identity as { id?: unknown } | undefined;
      record.verifiedTarget = text('verifiedTarget');
      if (typeof identity?.id === 'string') record.customerId = identity.id;
      if (typeof body.isNew === 'boolean') record.isNew = body.isNew;
      record.sessionToken = text('sessionToken');
      record.refreshToken = text('refreshToken');
      record.sid = sidOf(body.accessToken);
      const expiresAt = text('expiresAt');
      if (expiresAt) record.expiresAt = Date.parse(expiresAt);
      if (record.sessionToken) this.remember(record.sessionToken);
    }
    this.out.write(`${JSON.stringify(record)}\n`);
    return answer;
  }

  remember(token: string): void {
    this.tokens.push(token);
    if (this.tokens.length > 2000) this.tokens.splice(0, 1000);
  }

  addLogin(login: Login): void {
    this.logins.push(login);
    if (this.logins.length > 500) this.logins.splice(0, 250);
  }

  dropLogin(login: Login): void {
    const index = this.logins.indexOf(login);
    if (index >= 0) this.logins.splice(index, 1);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }

  private http(call: Call): Promise<Answer> {
    const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          method: call.method,
          path: call.path,
          localAddress: call.ip,
          // A connection of its own per request: each comes from the address its scenario chose.
          agent: false,
          timeout: REQUEST_TIMEOUT_MS,
          headers: {
            ...(payload === undefined ? {} : { 'Content-Type': 'application/json' }),
            ...call.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            let body: Record<string, unknown>;
            try {
              body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
            } catch {
              body = { raw: raw.slice(0, 200) };
            }
            resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }
}

/** A login the generator holds the tokens of. */
export interface Login {
  target: string;
  channel: 'email' | 'sms';
  customerId: string;
  sessionToken: string;
  refreshToken?: string;
}
