import { describe, expect, it } from 'vitest';
import { newCodesNeedToken, openGuesses } from '../../functions/core/guesses.js';

describe('openGuesses', () => {
  it('opens half of the run to any guess, rounded up', () => {
    expect(openGuesses(100)).toBe(50);
    expect(openGuesses(5)).toBe(3);
    expect(openGuesses(1)).toBe(1);
  });
});

describe('newCodesNeedToken', () => {
  it('binds new codes to their otpToken from the first wrong code past the open half', () => {
    expect(newCodesNeedToken(0, 10)).toBe(false);
    expect(newCodesNeedToken(4, 10)).toBe(false);
    expect(newCodesNeedToken(5, 10)).toBe(true);
    expect(newCodesNeedToken(6, 10)).toBe(true);
  });

  it('rounds the open half up for an odd budget', () => {
    expect(newCodesNeedToken(2, 5)).toBe(false);
    expect(newCodesNeedToken(3, 5)).toBe(true);
  });
});
