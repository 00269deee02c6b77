/**
 * The deploy-time settings of the stack, from CDK context (`-c name=value` or cdk.json), validated
 * so that a bad value fails synth with a message naming it.
 */
export interface StackSettings {
  stage: 'dev' | 'prod';
  /** Responses carry mockCode. Refused in prod. */
  devMode: boolean;
  /** Sender of code e-mails, `address` or `Name <address>`; e-mail is off without it. */
  emailFrom?: string;
  /** The SES identity (domain or address) that may send; defaults to the domain of emailFrom. */
  sesIdentity?: string;
  /** ISO 3166 alpha-2 codes that SMS may go to; SMS is off without them. */
  smsCountries?: string[];
  smsSenderId?: string;
  smsOriginationNumber?: string;
  /** Alarm threshold for the account's SMS spend this month, in USD. */
  smsMonthlyBudgetUsd: number;
  /** The WAF web ACL in front of the API; on unless turned off. */
  waf: boolean;
}

export class SettingsError extends Error {
  constructor(name: string, problem: string) {
    super(`Invalid context "${name}": ${problem}`);
    this.name = 'SettingsError';
  }
}

type Context = (name: string) => unknown;

const text = (context: Context, name: string): string | undefined => {
  const value: unknown = context(name);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new SettingsError(name, 'must be a single value.');
  }
  return String(value).trim();
};

const flag = (context: Context, name: string, fallback: boolean): boolean => {
  const value = text(context, name);
  if (value === undefined) return fallback;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new SettingsError(name, `must be true or false (got "${value}").`);
};

const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

export function settingsFromContext(context: Context): StackSettings {
  const stage = text(context, 'stage') ?? 'dev';
  if (stage !== 'dev' && stage !== 'prod') throw new SettingsError('stage', `must be dev or prod (got "${stage}").`);

  const devMode = flag(context, 'devMode', false);
  if (devMode && stage === 'prod') {
    throw new SettingsError('devMode', 'is refused in the prod stage: it returns codes in API responses.');
  }

  const emailFrom = text(context, 'emailFrom');
  const fromAddress = emailFrom ? (/<([^>]+)>\s*$/.exec(emailFrom)?.[1] ?? emailFrom) : undefined;
  if (fromAddress !== undefined && !EMAIL.test(fromAddress)) {
    throw new SettingsError(
      'emailFrom',
      `must be an e-mail address, optionally as "Name <address>" (got "${emailFrom}").`,
    );
  }
  const sesIdentity = text(context, 'sesIdentity') ?? fromAddress?.slice(fromAddress.lastIndexOf('@') + 1);
  if (sesIdentity !== undefined && !(EMAIL.test(sesIdentity) || /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(sesIdentity))) {
    throw new SettingsError('sesIdentity', `must be a domain or an e-mail address (got "${sesIdentity}").`);
  }
  if (sesIdentity !== undefined && fromAddress === undefined) {
    throw new SettingsError('sesIdentity', 'needs emailFrom, the address codes are sent from.');
  }

  const countries = text(context, 'smsCountries');
  const smsCountries = countries?.split(',').map((country) => country.trim().toUpperCase());
  for (const country of smsCountries ?? []) {
    if (!/^[A-Z]{2}$/.test(country)) {
      throw new SettingsError(
        'smsCountries',
        `must be ISO 3166 alpha-2 codes separated by commas, like US,CA (got "${countries}").`,
      );
    }
  }

  const smsSenderId = text(context, 'smsSenderId');
  if (smsSenderId !== undefined && !/^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$/.test(smsSenderId)) {
    throw new SettingsError(
      'smsSenderId',
      `must be 1-11 letters and digits with at least one letter (got "${smsSenderId}").`,
    );
  }
  const smsOriginationNumber = text(context, 'smsOriginationNumber');
  if (smsOriginationNumber !== undefined && !/^\+[1-9]\d{6,14}$/.test(smsOriginationNumber)) {
    throw new SettingsError('smsOriginationNumber', `must be an E.164 phone number (got "${smsOriginationNumber}").`);
  }
  if (!emailFrom && !smsCountries) {
    throw new SettingsError('emailFrom', 'or smsCountries must be set: the service needs at least one channel.');
  }

  const budget = text(context, 'smsMonthlyBudgetUsd') ?? '100';
  if (!/^\d+(\.\d+)?$/.test(budget) || Number(budget) <= 0) {
    throw new SettingsError('smsMonthlyBudgetUsd', `must be a positive amount in USD (got "${budget}").`);
  }

  return {
    stage,
    devMode,
    emailFrom,
    sesIdentity,
    smsCountries,
    smsSenderId,
    smsOriginationNumber,
    smsMonthlyBudgetUsd: Number(budget),
    waf: flag(context, 'waf', true),
  };
}
