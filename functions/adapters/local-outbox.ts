import { emailContent, messageLocale, smsText } from '../core/messages.js';
import type { CodeSender, OutgoingCode, Senders } from '../core/ports.js';
import type { Channel, Purpose } from '../core/purposes.js';

/** A message as the local outbox delivered it: what `npm start`'s page shows (functions/local/outbox-route.ts). */
export interface KeptMessage {
  /** When the outbox took it, and when its code expires (ISO 8601). */
  sentAt: string;
  expiresAt: string;
  channel: Channel;
  /** The normalised target, as the send stored it. */
  to: string;
  purpose: Purpose;
  /** The language the text is in (core/messages.ts). */
  locale: string;
  code: string;
  /** The e-mail's subject; absent for an SMS. */
  subject?: string;
  /** The SMS as SNS would carry it, or the e-mail's text part. */
  text: string;
}

/**
 * The last messages of the local outbox, in memory, each only for as long as its code lives: no
 * more than `capacity` (the oldest goes first), none past its code's expiry. Only `npm start` in dev
 * mode keeps one (localOutboxLog), for its page at `/`; a deployed function never does.
 */
export class OutboxLog {
  private readonly messages: KeptMessage[] = [];

  constructor(
    readonly capacity = 20,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
  }

  add(message: KeptMessage): void {
    this.messages.push(message);
    if (this.messages.length > this.capacity) this.messages.splice(0, this.messages.length - this.capacity);
  }

  /** The live messages to one normalised target, newest first. */
  to(address: string): KeptMessage[] {
    const now = this.now();
    return this.messages.filter((kept) => kept.to === address && Date.parse(kept.expiresAt) > now).reverse();
  }

  /** How many messages it holds, expired ones included until they are pushed out. */
  get size(): number {
    return this.messages.length;
  }
}

/**
 * Stands in for SNS and SES on a developer's machine: prints each message, code included, to the
 * console, marked so that nobody mistakes it for a log line of a deployed service. The text is the
 * one SNS or SES would carry, in the customer's language. Given a log, it keeps each message there too.
 */
export class LocalOutbox implements CodeSender {
  constructor(
    private readonly write: (text: string) => void = (text) => process.stdout.write(text),
    private readonly log?: OutboxLog,
    private readonly now: () => number = Date.now,
  ) {}

  send(message: OutgoingCode): Promise<void> {
    const locale = messageLocale(message.locale);
    let subject: string | undefined;
    let text: string;
    if (message.channel === 'sms') {
      text = smsText(message);
    } else {
      const mail = emailContent(message);
      subject = mail.subject;
      text = mail.text.trim();
    }
    const body = subject === undefined ? text : `Subject: ${subject}\n${text}`;
    this.write(
      `\n[LOCAL OUTBOX: not sent] ${message.channel.toUpperCase()} to ${message.to} ` +
        `(${message.purpose}, ${locale})\n  code: ${message.code}\n` +
        `  ${body.replace(/\n+/g, '\n  ')}\n\n`,
    );
    if (this.log) {
      const sentAt = this.now();
      this.log.add({
        sentAt: new Date(sentAt).toISOString(),
        expiresAt: new Date(sentAt + message.expiresInSeconds * 1000).toISOString(),
        channel: message.channel,
        to: message.to,
        purpose: message.purpose,
        locale,
        code: message.code,
        ...(subject === undefined ? {} : { subject }),
        text,
      });
    }
    return Promise.resolve();
  }
}

/** The log that local outboxes made from now on keep their messages in; none unless keepLocalMessages ran. */
let keptIn: OutboxLog | undefined;

/**
 * From now on, the local outboxes that localSenders makes keep their messages in `log` too. Only
 * `npm start` calls it, in dev mode, before it loads the handlers (functions/local/main.ts).
 */
export function keepLocalMessages(log: OutboxLog): void {
  keptIn = log;
}

export function localSenders(outbox = new LocalOutbox(undefined, keptIn)): Senders {
  return { sms: outbox, email: outbox };
}
