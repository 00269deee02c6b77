import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/config.js';
import { initialKeySet, serializeKeySet } from '../../functions/core/signing-keys.js';
import {
  ArgumentError,
  claimDataDir,
  dataDirArgument,
  keptPepper,
  keptSigningKeys,
  openDataDir,
} from '../../functions/local/data-dir.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), 'otp-data-dir-'));
  dirs.push(dir);
  return openDataDir(join(dir, 'data'));
};

describe('dataDirArgument', () => {
  it('reads --data-dir DIR and --data-dir=DIR, and nothing without it', () => {
    expect(dataDirArgument([])).toBeUndefined();
    expect(dataDirArgument(['--data-dir', '.data'])).toBe('.data');
    expect(dataDirArgument(['--data-dir=.data'])).toBe('.data');
  });

  it('refuses a missing directory and any other argument', () => {
    expect(() => dataDirArgument(['--data-dir'])).toThrow(ArgumentError);
    expect(() => dataDirArgument(['--data-dir='])).toThrow(ArgumentError);
    expect(() => dataDirArgument(['--data-dir', '--port'])).toThrow(ArgumentError);
    expect(() => dataDirArgument(['.data'])).toThrow(/unknown argument "\.data"/);
  });
});

describe('the secrets kept in a data dir', () => {
  it('makes the pepper once, mode 0600, and reads the same one after', () => {
    const dir = fresh();
    const pepper = keptPepper(dir);
    expect(pepper.length).toBeGreaterThanOrEqual(43);
    expect(statSync(dir.pepperFile).mode & 0o777).toBe(0o600);
    expect(keptPepper(dir)).toBe(pepper);
  });

  it('narrows a secret file others may read to 0600', () => {
    const dir = fresh();
    keptPepper(dir);
    chmodSync(dir.pepperFile, 0o644);
    keptPepper(dir);
    expect(statSync(dir.pepperFile).mode & 0o777).toBe(0o600);
  });

  it('makes the signing keys once, of the configured algorithm, and reads the same ones after', () => {
    const dir = fresh();
    const keys = keptSigningKeys(dir, 'RS256');
    expect(JSON.parse(keys)).toMatchObject({ algorithm: 'RS256' });
    expect(statSync(dir.signingKeysFile).mode & 0o777).toBe(0o600);
    expect(keptSigningKeys(dir, 'RS256')).toBe(keys);
    expect(readFileSync(dir.signingKeysFile, 'utf8').trim()).toBe(keys);
  });

  it('refuses kept keys of another algorithm, or unreadable ones, naming the file and never the keys', () => {
    const dir = fresh();
    const keys = initialKeySet(Date.now(), 'ES256');
    writeFileSync(dir.signingKeysFile, serializeKeySet(keys), { mode: 0o600 });
    expect(() => keptSigningKeys(dir, 'RS256')).toThrow(ConfigError);
    expect(() => keptSigningKeys(dir, 'RS256')).toThrow(dir.signingKeysFile);
    writeFileSync(dir.signingKeysFile, '{"not":"keys"}');
    expect(() => keptSigningKeys(dir, 'ES256')).toThrow(dir.signingKeysFile);
    writeFileSync(dir.signingKeysFile, serializeKeySet(keys));
    let message = '';
    try {
      keptSigningKeys(dir, 'RS256');
    } catch (error) {
      message = String(error);
    }
    expect(message).toContain('holds ES256 signing keys');
    expect(message).not.toContain(keys.current.jwk.d);
  });
});

describe('claimDataDir', () => {
  it('refuses a directory that a live server holds, and releases only its own claim', () => {
    const dir = fresh();
    const release = claimDataDir(dir, 111, () => true);
    expect(readFileSync(dir.lockFile, 'utf8').trim()).toBe('111');
    expect(() => claimDataDir(dir, 222, () => true)).toThrow(/in use by another npm start \(pid 111\)/);
    release();
    expect(existsSync(dir.lockFile)).toBe(false);
  });

  it('takes over the claim of a server that is gone', () => {
    const dir = fresh();
    claimDataDir(dir, 111, () => true);
    const release = claimDataDir(dir, 222, (pid) => pid !== 111);
    expect(readFileSync(dir.lockFile, 'utf8').trim()).toBe('222');
    release();
    expect(existsSync(dir.lockFile)).toBe(false);
  });
});
