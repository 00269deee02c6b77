import { emailContent, smsText } from '../core/messages.js';
import type { CodeSender, OutgoingCode, Senders } from '../core/ports.js';

/**
 * Stands in for SNS and SES on a developer's machine: prints each message, code included, to the
 * console, marked so that nobody mistakes it for a log line of a deployed service.
 */
export class LocalOutbox implements CodeSender {
  constructor(private readonly write: (text: string) => void = (text) => process.stdout.write(text)) {}

  send(message: OutgoingCode): Promise<void> {
    const body =
      message.channel === 'sms'
        ? smsText(message)
        : `Subject: ${emailContent(message).subject}\n  ${emailContent(message).text.trim().replace(/\n+/g, '\n  ')}`;
    this.write(
      `\n[LOCAL OUTBOX: not sent] ${message.channel.toUpperCase()} to ${message.to} (${message.purpose})\n  code: ${message.code}\n  ${body}\n\n`,
    );
    return Promise.resolve();
  }
}

export function localSenders(outbox = new LocalOutbox()): Senders {
  return { sms: outbox, email: outbox };
}
