import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { smsClient } from '../../functions/adapters/delivery-clients.js';
import { SnsSmsSender } from '../../functions/adapters/sns-sms.js';
import type { OutgoingCode } from '../../functions/core/ports.js';

// No SNS emulator exists: the SDK boundary is mocked, and the exact request is asserted.
const sns = mockClient(SNSClient);

const message: OutgoingCode = {
  channel: 'sms',
  to: '+14155550123',
  code: '042917',
  purpose: 'login',
  expiresInSeconds: 300,
  appName: 'Acme',
};

describe('SnsSmsSender', () => {
  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  });

  it('publishes a transactional SMS straight to the phone number', async () => {
    await new SnsSmsSender(new SNSClient({ region: 'us-east-1' })).send(message);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input).toEqual({
      PhoneNumber: '+14155550123',
      Message: '042917 is your Acme sign-in code. It expires in 5 minutes. Never share it.',
      MessageAttributes: {
        'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' },
      },
    });
  });

  it('adds the sender ID and origination number when configured', async () => {
    await new SnsSmsSender(new SNSClient({ region: 'us-east-1' }), {
      senderId: 'ACME',
      originationNumber: '+18005550100',
    }).send({ ...message, purpose: 'reset-password' });
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input).toEqual({
      PhoneNumber: '+14155550123',
      Message: '042917 is your Acme password reset code. It expires in 5 minutes. Never share it.',
      MessageAttributes: {
        'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' },
        'AWS.SNS.SMS.SenderID': { DataType: 'String', StringValue: 'ACME' },
        'AWS.MM.SMS.OriginationNumber': { DataType: 'String', StringValue: '+18005550100' },
      },
    });
  });

  it("publishes the text in the customer's language, ending with the client's WebOTP line", async () => {
    await new SnsSmsSender(new SNSClient({ region: 'us-east-1' })).send({
      ...message,
      locale: 'es-MX',
      webOtpDomain: 'acme.example',
      androidAppHash: 'FA+9qCX9VSu',
    });
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message).toBe(
      '042917 es tu codigo de inicio de sesion de Acme. Caduca en 5 minutos. No lo compartas con nadie.\n' +
        'FA+9qCX9VSu\n@acme.example #042917',
    );
  });

  it('never publishes to a topic', async () => {
    await new SnsSmsSender(new SNSClient({ region: 'us-east-1' })).send(message);
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.TopicArn).toBeUndefined();
    expect(input?.TargetArn).toBeUndefined();
  });

  it('lets a provider failure reach the caller', async () => {
    sns.on(PublishCommand).rejects(new Error('Throttling'));
    await expect(new SnsSmsSender(new SNSClient({ region: 'us-east-1' })).send(message)).rejects.toThrow('Throttling');
  });

  it('publishes through the SNS client of the send function, retrying at most once', async () => {
    const client = smsClient();
    await new SnsSmsSender(client).send(message);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(await client.config.maxAttempts()).toBe(2);
  });

  it('hands every message over with an abort signal, which bounds the whole send', async () => {
    await new SnsSmsSender(new SNSClient({ region: 'us-east-1' })).send(message);
    const options = (sns.send.firstCall.args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined;
    expect(options?.abortSignal).toBeInstanceOf(AbortSignal);
    expect(options?.abortSignal?.aborted).toBe(false);
  });
});
