import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  isAlive,
  type LocalServerState,
  removeStateFile,
  runningServers,
  stateFilePath,
  writeStateFile,
} from '../../functions/local/state-file.js';

const dirs: string[] = [];
function freshDir() {
  const dir = mkdtempSync(join(tmpdir(), 'otp-state-file-test-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const state = (port: number, pid = process.pid): LocalServerState => ({
  pid,
  endpoint: 'http://127.0.0.1:8000',
  clientsTable: 'otp-clients',
  stateTable: 'otp-state',
  customersTable: 'otp-customers',
  url: `http://127.0.0.1:${port}`,
});

describe('the state file of npm start', () => {
  it('is written per port and read back while its process lives', () => {
    const dir = freshDir();
    writeStateFile(stateFilePath(3000, dir), state(3000));
    expect(readdirSync(dir)).toEqual(['otp-service-local-3000.json']);
    expect(runningServers(dir)).toEqual([state(3000)]);
  });

  it('is ignored once its process is gone', () => {
    const dir = freshDir();
    writeStateFile(stateFilePath(3000, dir), state(3000, 11));
    writeStateFile(stateFilePath(4000, dir), state(4000, 12));
    expect(runningServers(dir, (pid) => pid === 12)).toEqual([state(4000, 12)]);
  });

  it('ignores broken files and files of other names', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'otp-service-local-3000.json'), '{"pid":');
    writeFileSync(join(dir, 'otp-service-local-4000.json'), JSON.stringify({ pid: process.pid }));
    writeFileSync(join(dir, 'something-else.json'), JSON.stringify(state(5000)));
    expect(runningServers(dir)).toEqual([]);
    expect(runningServers(join(dir, 'missing'))).toEqual([]);
  });

  it('is removed on stop only by the process that wrote it', () => {
    const dir = freshDir();
    const path = stateFilePath(3000, dir);
    writeStateFile(path, state(3000, 4242));
    removeStateFile(path);
    expect(readdirSync(dir)).toHaveLength(1);
    removeStateFile(path, 4242);
    expect(readdirSync(dir)).toEqual([]);
    removeStateFile(path, 4242);
  });

  it('tells a living process from a gone one', () => {
    expect(isAlive(process.pid)).toBe(true);
    // Above the kernel's largest pid: never a process.
    expect(isAlive(2 ** 22 + 1)).toBe(false);
  });
});
