import { describe, expect, it } from 'vitest';
import { handler as health } from '../../functions/handlers/health.js';
import { call } from '../kit.js';

describe('GET /v1/health', () => {
  it('answers 200 ok with the security headers', async () => {
    const response = await call(health, { method: 'GET' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ success: true, status: 'ok' });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toMatch(/max-age=\d+/);
  });
});
