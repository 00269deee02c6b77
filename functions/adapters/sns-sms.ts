import { type MessageAttributeValue, PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { smsText } from '../core/messages.js';
import type { CodeSender, OutgoingCode } from '../core/ports.js';
import { handOverOptions } from './delivery-clients.js';

export interface SmsOptions {
  /** Alphanumeric sender ID, where the destination country supports it. */
  senderId?: string;
  /** Origination number (E.164) registered for the account. */
  originationNumber?: string;
}

/** Sends the code as a transactional SMS straight to a phone number (never through a topic). */
export class SnsSmsSender implements CodeSender {
  constructor(
    private readonly client: SNSClient,
    private readonly options: SmsOptions = {},
  ) {}

  async send(message: OutgoingCode): Promise<void> {
    const attributes: Record<string, MessageAttributeValue> = {
      // Transactional: highest delivery priority, and not subject to promotional opt-outs.
      'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' },
    };
    if (this.options.senderId) {
      attributes['AWS.SNS.SMS.SenderID'] = { DataType: 'String', StringValue: this.options.senderId };
    }
    if (this.options.originationNumber) {
      attributes['AWS.MM.SMS.OriginationNumber'] = { DataType: 'String', StringValue: this.options.originationNumber };
    }
    await this.client.send(
      new PublishCommand({ PhoneNumber: message.to, Message: smsText(message), MessageAttributes: attributes }),
      handOverOptions(),
    );
  }
}
