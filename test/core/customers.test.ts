import { describe, expect, it } from 'vitest';
import { channelMismatch, identifierOf, trustLevelOf } from '../../functions/core/customers.js';

const BOTH = { email: 'a@example.com', phone: '+14155550123' };

describe('trustLevelOf', () => {
  it('is strong only once both channels are verified', () => {
    expect(trustLevelOf(BOTH)).toBe('strong');
    expect(trustLevelOf({ email: null, phone: BOTH.phone })).toBe('verified');
    expect(trustLevelOf({ email: BOTH.email, phone: null })).toBe('verified');
  });
});

describe('identifierOf', () => {
  it("gives the customer's identifier of the channel asked", () => {
    expect(identifierOf(BOTH, 'email')).toBe(BOTH.email);
    expect(identifierOf(BOTH, 'sms')).toBe(BOTH.phone);
    expect(identifierOf({ email: null, phone: BOTH.phone }, 'email')).toBeNull();
  });
});

describe('channelMismatch', () => {
  it('names the kind of target the purpose needs', () => {
    expect(channelMismatch('verify-phone')).toBe('The purpose verify-phone needs a phone number.');
    expect(channelMismatch('update-phone')).toBe('The purpose update-phone needs a phone number.');
    expect(channelMismatch('update-email')).toBe('The purpose update-email needs an e-mail address.');
  });
});
