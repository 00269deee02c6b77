import { describe, expect, it } from 'vitest';
import { checkPolicy, parsePolicy, PolicyError } from '../functions/policy-rules.js';

/** The fields a PolicyError names, as the API and the CLI show them. */
function fieldsOf(input: unknown): string[] {
  try {
    parsePolicy(input);
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    const policyError = error as PolicyError;
    expect(policyError).toMatchObject({ status: 400, slug: 'validation-error' });
    const errors = policyError.extensions.errors as { path: string; message: string }[];
    for (const { path, message } of errors) expect(policyError.message).toContain(`${path}: ${message}`);
    return errors.map((issue) => issue.path);
  }
  throw new Error(`parsePolicy accepted ${JSON.stringify(input)}`);
}

const testTargets = (...targets: { target: string; code: string }[]) => ({ testTargets: targets });

describe('parsePolicy: a bad field is named as policy.<field>', () => {
  it('names an unknown field', () => {
    expect(fieldsOf({ colour: 'blue' })).toEqual(['policy.colour']);
  });

  it('names each of two unknown fields as a field of its own', () => {
    expect(fieldsOf({ colour: 'blue', size: 'xl' }).sort()).toEqual(['policy.colour', 'policy.size']);
  });

  it('names an unknown field of a test target by its full path', () => {
    expect(fieldsOf(testTargets({ target: '+14155550199', code: '730291', note: 'x' } as never))).toEqual([
      'policy.testTargets.0.note',
    ]);
  });

  it.each([5, 11, 6.5])('names codeLength %s', (codeLength) => {
    expect(fieldsOf({ codeLength })).toEqual(['policy.codeLength']);
  });

  it.each([
    ['smsLimitPerHour', 0],
    ['smsLimitPerCountryPerHour', 2.5],
    ['smsLimitPerPrefixPerHour', -1],
  ])('names %s %s (SMS caps of a client are whole numbers from 1)', (field, value) => {
    expect(fieldsOf({ [field]: value })).toEqual([`policy.${field}`]);
  });

  it('accepts SMS caps of a client', () => {
    const policy = { smsLimitPerHour: 100, smsLimitPerCountryPerHour: 20, smsLimitPerPrefixPerHour: 3 };
    expect(parsePolicy(policy)).toEqual(policy);
  });

  it('names channels when the list is empty', () => {
    expect(fieldsOf({ channels: [] })).toEqual(['policy.channels']);
  });

  it('names channels when a channel is unknown', () => {
    expect(fieldsOf({ channels: ['fax'] })).toEqual(['policy.channels.0']);
  });

  it('names smsCountries when a country is not an alpha-2 code', () => {
    expect(fieldsOf({ smsCountries: ['USA'] })).toEqual(['policy.smsCountries.0']);
  });

  it('names trust when it is not a preset', () => {
    expect(fieldsOf({ trust: 'x' })).toEqual(['policy.trust']);
  });

  it('names an action with capitals', () => {
    expect(fieldsOf({ otpRequiredFor: ['Transfer'] })).toEqual(['policy.otpRequiredFor.0']);
  });

  it('names an action of 65 characters', () => {
    expect(fieldsOf({ otpOptional: ['view', 'a'.repeat(65)] })).toEqual(['policy.otpOptional.1']);
  });

  it('accepts an action of 64 characters', () => {
    expect(parsePolicy({ otpOptional: ['a'.repeat(64)] })).toEqual({ otpOptional: ['a'.repeat(64)] });
  });

  it('names otpOptional when an action is also in otpRequiredFor', () => {
    expect(fieldsOf({ otpRequiredFor: ['transfer', 'enroll'], otpOptional: ['enroll'] })).toEqual([
      'policy.otpOptional',
    ]);
  });

  it('names a test target with a premium-rate number', () => {
    expect(fieldsOf(testTargets({ target: '+979123456789', code: '730291' }))).toEqual(['policy.testTargets.0.target']);
  });

  it('names a test target that is not a valid number or e-mail address', () => {
    expect(fieldsOf(testTargets({ target: '+1415', code: '730291' }))).toEqual(['policy.testTargets.0.target']);
  });

  it.each(['000000', '123456', '987654', '5555555555', '121212', '123123'])(
    'names a guessable fixed code %s',
    (code) => {
      expect(fieldsOf(testTargets({ target: '+14155550199', code }))).toEqual(['policy.testTargets.0.code']);
    },
  );

  it('names a fixed code of another length than the policy codeLength', () => {
    expect(fieldsOf({ codeLength: 8, ...testTargets({ target: '+14155550199', code: '730291' }) })).toEqual([
      'policy.testTargets.0.code',
    ]);
  });

  it('names a fixed code that is not 6 to 10 digits', () => {
    expect(fieldsOf(testTargets({ target: '+14155550199', code: '7302a1' }))).toEqual(['policy.testTargets.0.code']);
  });

  it('names the second test target by its index', () => {
    expect(
      fieldsOf(testTargets({ target: '+14155550199', code: '730291' }, { target: 'not a target', code: '730291' })),
    ).toEqual(['policy.testTargets.1.target']);
  });

  it('names testTargets when it lists more than 20', () => {
    const many = Array.from({ length: 21 }, (_, i) => ({ target: `review-${i}@example.com`, code: '730291' }));
    expect(fieldsOf({ testTargets: many })).toEqual(['policy.testTargets']);
  });

  it('accepts 20 test targets', () => {
    const twenty = Array.from({ length: 20 }, (_, i) => ({ target: `review-${i}@example.com`, code: '730291' }));
    expect(parsePolicy({ testTargets: twenty }).testTargets).toHaveLength(20);
  });

  it('names sendLimitPerDay when it is below sendLimitPerHour', () => {
    expect(fieldsOf({ sendLimitPerHour: 5, sendLimitPerDay: 4 })).toEqual(['policy.sendLimitPerDay']);
  });

  it('names every bad field at once', () => {
    expect(fieldsOf({ codeLength: 5, trust: 'x' }).sort()).toEqual(['policy.codeLength', 'policy.trust']);
  });

  it.each([
    ['null', null],
    ['an array', []],
    ['a string', 'strict'],
    ['a number', 6],
  ])('names the policy itself when it is %s, not an object', (_, input) => {
    expect(fieldsOf(input)).toEqual(['policy']);
  });
});

describe('parsePolicy: what it accepts', () => {
  it('accepts an empty policy', () => {
    expect(parsePolicy({})).toEqual({});
  });

  it('upper-cases the SMS countries (and drops repeats)', () => {
    expect(parsePolicy({ smsCountries: ['de', 'At', 'DE'] }).smsCountries).toEqual(['DE', 'AT']);
  });

  it('lower-cases a test e-mail address', () => {
    expect(parsePolicy(testTargets({ target: ' Review@Example.COM ', code: '730291' })).testTargets).toEqual([
      { target: 'review@example.com', code: '730291' },
    ]);
  });

  it('writes a test phone number in E.164', () => {
    expect(parsePolicy(testTargets({ target: '+1 (415) 555-0199', code: '730291' })).testTargets).toEqual([
      { target: '+14155550199', code: '730291' },
    ]);
  });

  it('keeps a fixed code that has the policy codeLength', () => {
    expect(parsePolicy({ codeLength: 8, ...testTargets({ target: '+14155550199', code: '73029146' }) })).toEqual({
      codeLength: 8,
      testTargets: [{ target: '+14155550199', code: '73029146' }],
    });
  });

  it('leaves every valid field as it came', () => {
    const policy = {
      codeLength: 8,
      codeTtlSeconds: 120,
      maxAttempts: 5,
      sendLimitPerHour: 3,
      sendLimitPerDay: 6,
      resendCooldownSeconds: 10,
      channels: ['sms'],
      smsCountries: ['US'],
      sessionTtlSeconds: 3600,
      stepUpTtlSeconds: 300,
      refreshTtlSeconds: 7200,
      requireOtpToken: true,
      trust: 'relaxed',
      otpRequiredFor: ['transfer'],
      otpOptional: ['view-balance'],
      webOtpDomain: 'example.com',
      androidAppHash: 'FA+9qCX9VSu',
    };
    expect(parsePolicy(policy)).toEqual(policy);
  });
});

describe('webOtpDomain', () => {
  const domain = (length: number) => `${'a'.repeat(length - 4)}.com`;

  it('is refused when written longer than one segment allows: 57 characters, 45 with an androidAppHash', () => {
    expect(parsePolicy({ webOtpDomain: domain(57) })).toEqual({ webOtpDomain: domain(57) });
    expect(() => parsePolicy({ webOtpDomain: domain(58) })).toThrow(
      'policy.webOtpDomain: must be at most 57 characters, or the SMS may need two segments',
    );
    const hash = { androidAppHash: 'FA+9qCX9VSu' };
    expect(parsePolicy({ ...hash, webOtpDomain: domain(45) })).toEqual({ ...hash, webOtpDomain: domain(45) });
    expect(() => parsePolicy({ ...hash, webOtpDomain: domain(46) })).toThrow(
      'policy.webOtpDomain: must be at most 45 characters with an androidAppHash, or the SMS may need two segments',
    );
  });

  it('stored longer by an older release, still reads: the client keeps working, in two segments', () => {
    expect(checkPolicy({ webOtpDomain: domain(62) })).toEqual({ webOtpDomain: domain(62) });
  });
});
