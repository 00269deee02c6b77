import { describe, expect, it } from 'vitest';
import { hashSessionToken, isWellFormedToken, newSessionId, newSessionToken } from '../../functions/core/sessions.js';

describe('session tokens', () => {
  it('are 32 random bytes in base64url, different every time', () => {
    const tokens = new Set(Array.from({ length: 100 }, newSessionToken));
    expect(tokens.size).toBe(100);
    for (const token of tokens) {
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
      expect(isWellFormedToken(token)).toBe(true);
    }
  });

  it('are stored only as a SHA-256 hash', () => {
    const token = newSessionToken();
    const hash = hashSessionToken(token);
    expect(hash).not.toBe(token);
    expect(Buffer.from(hash, 'base64url')).toHaveLength(32);
    expect(hashSessionToken(token)).toBe(hash);
  });

  it('have session ids of 16 random bytes in base64url, different every time', () => {
    const ids = new Set(Array.from({ length: 100 }, newSessionId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(Buffer.from(id, 'base64url')).toHaveLength(16);
  });

  it('rejects malformed tokens', () => {
    expect(isWellFormedToken('')).toBe(false);
    expect(isWellFormedToken('abc')).toBe(false);
    expect(isWellFormedToken(`${newSessionToken()}x`)).toBe(false);
    expect(isWellFormedToken('!'.repeat(43))).toBe(false);
  });
});
