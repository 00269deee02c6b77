import { emailContent, messageLocale, smsText } from '../core/messages.js';
import type { CodeSender, OutgoingCode, Senders } from '../core/ports.js';

/**
 * Stands in for SNS and SES on a developer's machine: prints each message, code included, to the
 * console, marked so that nobody mistakes it for a log line of a deployed service. The text is the
 * one SNS or SES would carry, in the customer's language.
 */
export class LocalOutbox implements CodeSender {
  constructor(private readonly write: (text: string) => void = (text) => process.stdout.write(text)) {}

  send(message: OutgoingCode): Promise<void> {
    let body: string;
    if (message.channel === 'sms') {
      body = smsText(message);
    } else {
      const mail = emailContent(message);
      body = `Subject: ${mail.subject}\n${mail.text.trim()}`;
    }
    this.write(
      `\n[LOCAL OUTBOX: not sent] ${message.channel.toUpperCase()} to ${message.to} ` +
        `(${message.purpose}, ${messageLocale(message.locale)})\n  code: ${message.code}\n` +
        `  ${body.replace(/\n+/g, '\n  ')}\n\n`,
    );
    return Promise.resolve();
  }
}

export function localSenders(outbox = new LocalOutbox()): Senders {
  return { sms: outbox, email: outbox };
}
