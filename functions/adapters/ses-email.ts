import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { emailContent } from '../core/messages.js';
import type { CodeSender, OutgoingCode } from '../core/ports.js';

/** Sends the code as a text + HTML e-mail through SES v2 from a verified identity. */
export class SesEmailSender implements CodeSender {
  constructor(
    private readonly client: SESv2Client,
    private readonly from: string,
  ) {}

  async send(message: OutgoingCode): Promise<void> {
    const content = emailContent(message);
    await this.client.send(
      new SendEmailCommand({
        FromEmailAddress: this.from,
        Destination: { ToAddresses: [message.to] },
        Content: {
          Simple: {
            Subject: { Data: content.subject, Charset: 'UTF-8' },
            Body: {
              Text: { Data: content.text, Charset: 'UTF-8' },
              Html: { Data: content.html, Charset: 'UTF-8' },
            },
          },
        },
      }),
    );
  }
}
