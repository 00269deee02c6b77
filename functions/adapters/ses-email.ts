import { SendEmailCommand, type SESClient } from '@aws-sdk/client-ses';
import { emailContent } from '../core/messages.js';
import type { CodeSender, OutgoingCode } from '../core/ports.js';
import { handOverOptions } from './delivery-clients.js';

/**
 * Sends the code as a text + HTML e-mail through SES (SendEmail) from a verified identity, in the
 * configuration set when one is given (the stack's suppresses addresses that bounced or complained).
 */
export class SesEmailSender implements CodeSender {
  private readonly source: string;

  /** `from` is an address or `Name <address>`. */
  constructor(
    private readonly client: SESClient,
    from: string,
    private readonly configurationSet?: string,
  ) {
    this.source = sourceHeader(from);
  }

  async send(message: OutgoingCode): Promise<void> {
    const content = emailContent(message);
    await this.client.send(
      new SendEmailCommand({
        Source: this.source,
        ...(this.configurationSet ? { ConfigurationSetName: this.configurationSet } : {}),
        Destination: { ToAddresses: [message.to] },
        Message: {
          Subject: { Data: content.subject, Charset: 'UTF-8' },
          Body: {
            Text: { Data: content.text, Charset: 'UTF-8' },
            Html: { Data: content.html, Charset: 'UTF-8' },
          },
        },
      }),
      handOverOptions(),
    );
  }
}

/**
 * SES puts Source into the From header as given: a display name with non-ASCII characters must be
 * MIME encoded words (RFC 2047), and one with a comma or another special character must be quoted,
 * or SES refuses the address.
 */
export function sourceHeader(from: string): string {
  const match = /^(.+?) *<([^<>\s]+)>$/.exec(from);
  if (!match?.[1] || !match[2]) return from;
  const address = match[2];
  const quoted = /^"(.*)"$/.exec(match[1]);
  const name = quoted?.[1] !== undefined ? quoted[1].replace(/\\(.)/g, '$1') : match[1];
  if (/[^\x20-\x7e]/.test(name)) return `${encodedWords(name)} <${address}>`;
  if (/[()<>[\]:;@\\,."]/.test(name)) return `"${name.replace(/["\\]/g, '\\$&')}" <${address}>`;
  return `${name} <${address}>`;
}

/** An encoded word is at most 75 characters: 45 bytes of text make 60 of base64, plus 12 of framing. */
const ENCODED_WORD_BYTES = 45;

function encodedWords(text: string): string {
  const chunks: string[] = [];
  let chunk = '';
  for (const char of text) {
    if (Buffer.byteLength(chunk + char) > ENCODED_WORD_BYTES) {
      chunks.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  chunks.push(chunk);
  return chunks.map((part) => `=?UTF-8?B?${Buffer.from(part, 'utf8').toString('base64')}?=`).join(' ');
}
