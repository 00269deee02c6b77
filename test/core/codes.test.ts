import { describe, expect, it } from 'vitest';
import { generateCode, hashCode, hashesMatch, opaqueKey } from '../../functions/core/codes.js';

const PEPPER = 'p'.repeat(32);

describe('generateCode', () => {
  it.each([4, 6, 8, 10])('gives exactly %i digits', (length) => {
    for (let i = 0; i < 200; i++) expect(generateCode(length)).toMatch(new RegExp(`^\\d{${length}}$`));
  });

  it('keeps leading zeros and spreads over every first digit', () => {
    const firstDigits = new Set(Array.from({ length: 2000 }, () => generateCode(6)[0]));
    expect(firstDigits.size).toBe(10);
  });
});

describe('hashCode', () => {
  const base = hashCode(PEPPER, '+14155550123', 'login', '123456');

  it('is deterministic and never contains the code', () => {
    expect(hashCode(PEPPER, '+14155550123', 'login', '123456')).toBe(base);
    expect(base).not.toContain('123456');
  });

  it('binds the code to target, purpose and pepper', () => {
    expect(hashCode(PEPPER, '+14155550124', 'login', '123456')).not.toBe(base);
    expect(hashCode(PEPPER, '+14155550123', 'register', '123456')).not.toBe(base);
    expect(hashCode(PEPPER, '+14155550123', 'login', '123457')).not.toBe(base);
    expect(hashCode('q'.repeat(32), '+14155550123', 'login', '123456')).not.toBe(base);
  });
});

describe('hashesMatch', () => {
  it('matches equal hashes only', () => {
    const a = hashCode(PEPPER, 'a@example.com', 'login', '000001');
    const b = hashCode(PEPPER, 'a@example.com', 'login', '000002');
    expect(hashesMatch(a, a)).toBe(true);
    expect(hashesMatch(a, b)).toBe(false);
  });

  it('treats a hash of another length as no match instead of throwing', () => {
    expect(hashesMatch(hashCode(PEPPER, 't', 'login', '1'), '')).toBe(false);
  });
});

describe('opaqueKey', () => {
  it('hides the value and separates targets from IPs', () => {
    const key = opaqueKey(PEPPER, 'target', 'a@example.com');
    expect(key).not.toContain('example');
    expect(key).toHaveLength(32);
    expect(opaqueKey(PEPPER, 'ip', 'a@example.com')).not.toBe(key);
  });
});
