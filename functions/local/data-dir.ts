import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../config.js';
import { isAlive } from './state-file.js';
import {
  initialKeySet,
  KeySetError,
  parseKeySet,
  type SigningAlgorithm,
  serializeKeySet,
} from '../core/signing-keys.js';

/**
 * `npm start -- --data-dir DIR`: what a local server keeps across restarts. DynamoDB Local's database
 * file goes in DIR/dynamodb; the pepper and the signing keys go in files of their own beside it,
 * since codes and refresh tokens are stored only as hashes under that pepper, and access tokens
 * issued before a restart must still check against the JWKS served after it.
 */
export interface DataDir {
  /** Absolute, as DynamoDB Local is given it (its working directory is not this process's). */
  root: string;
  /** DynamoDB Local's -dbPath. */
  dynamoDb: string;
  pepperFile: string;
  signingKeysFile: string;
  /** The pid of the server that uses the directory (claimDataDir). */
  lockFile: string;
}

export class ArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgumentError';
  }
}

/** The `--data-dir` of `npm start -- …` (`--data-dir DIR` or `--data-dir=DIR`); nothing else is accepted. */
export function dataDirArgument(args: readonly string[]): string | undefined {
  let dir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--data-dir') {
      dir = args[++i];
      if (dir === undefined || dir === '' || dir.startsWith('--')) {
        throw new ArgumentError('--data-dir needs a directory, as in `npm start -- --data-dir .data`.');
      }
    } else if (arg.startsWith('--data-dir=')) {
      dir = arg.slice('--data-dir='.length);
      if (dir === '') throw new ArgumentError('--data-dir needs a directory, as in `npm start -- --data-dir .data`.');
    } else {
      throw new ArgumentError(`unknown argument "${arg}"; npm start accepts only --data-dir DIR.`);
    }
  }
  return dir;
}

/** Creates the directory and DynamoDB Local's inside it, readable by this user only. */
export function openDataDir(dir: string): DataDir {
  const root = resolve(dir);
  mkdirSync(join(root, 'dynamodb'), { recursive: true, mode: 0o700 });
  return {
    root,
    dynamoDb: join(root, 'dynamodb'),
    pepperFile: join(root, 'pepper'),
    signingKeysFile: join(root, 'signing-keys.json'),
    lockFile: join(root, 'server.pid'),
  };
}

/**
 * Marks the directory as this process's, refusing it while another live server holds it: two
 * DynamoDB Locals on one database file would each see a different, and soon broken, state. A file
 * left by a server that was killed names a pid that is gone, and is taken over. Returns the release.
 */
export function claimDataDir(dir: DataDir, pid = process.pid, alive: (pid: number) => boolean = isAlive): () => void {
  for (let tries = 0; ; tries++) {
    try {
      writeFileSync(dir.lockFile, `${pid}\n`, { mode: 0o600, flag: 'wx' });
      return () => {
        if (readFileSync(dir.lockFile, 'utf8').trim() === String(pid)) rmSync(dir.lockFile, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0) throw error;
    }
    const holder = Number(readFileSync(dir.lockFile, 'utf8').trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== pid && alive(holder)) {
      throw new ArgumentError(`${dir.root} is in use by another npm start (pid ${holder}); stop it first.`);
    }
    rmSync(dir.lockFile, { force: true });
  }
}

/**
 * The content of a secret file, made by `create` on first use. Written with mode 0600 and flag `wx`,
 * so that a file another server wrote meanwhile is read, never overwritten; a file others may read
 * is narrowed to 0600 (it may come from a copy or an archive).
 */
function secretFile(path: string, create: () => string): string {
  try {
    writeFileSync(path, create(), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return readFileSync(path, 'utf8').trim();
}

/** The pepper kept in the data dir; made on first start, like the in-memory run's. */
export function keptPepper(dir: DataDir): string {
  return secretFile(dir.pepperFile, () => `${randomBytes(32).toString('base64url')}\n`);
}

/**
 * The signing keys kept in the data dir, serialized as OTP_SIGNING_KEYS takes them. Keys of another
 * algorithm than the configured one are refused, not replaced: inline keys never rotate
 * (functions/config.ts), and replacing them would silently end every token issued before.
 */
export function keptSigningKeys(dir: DataDir, algorithm: SigningAlgorithm): string {
  const text = secretFile(dir.signingKeysFile, () => `${serializeKeySet(initialKeySet(Date.now(), algorithm))}\n`);
  let keys;
  try {
    keys = parseKeySet(text);
  } catch (error) {
    if (error instanceof KeySetError) {
      throw new ConfigError(
        '--data-dir',
        `holds signing keys that cannot be read (${dir.signingKeysFile}: ${error.message}).`,
      );
    }
    throw error;
  }
  if (keys === undefined) throw new ConfigError('--data-dir', `holds no signing keys in ${dir.signingKeysFile}.`);
  if (keys.algorithm !== algorithm) {
    throw new ConfigError(
      '--data-dir',
      `holds ${keys.algorithm} signing keys (${dir.signingKeysFile}), but OTP_ACCESS_TOKEN_ALGORITHM is ${algorithm}; ` +
        'delete that file to make new keys (tokens issued with the old ones stop validating).',
    );
  }
  return text;
}
