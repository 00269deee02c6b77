import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What a running `npm start` tells `npm run clients` (functions/clients/connection.ts) so that the
 * CLI finds its in-memory DynamoDB Local without being told the endpoint. One file per port, so that
 * two servers never overwrite each other's file and the CLI can tell that more than one runs.
 */
export interface LocalServerState {
  /** The `npm start` process: a file whose process is gone is stale. */
  pid: number;
  endpoint: string;
  clientsTable: string;
  stateTable: string;
  customersTable: string;
  url: string;
}

const PREFIX = 'otp-service-local-';
const SUFFIX = '.json';

export function stateFilePath(port: number, dir = tmpdir()): string {
  return join(dir, `${PREFIX}${port}${SUFFIX}`);
}

/** Written whole or not at all: a CLI reading at the same moment never sees half a file. */
export function writeStateFile(path: string, state: LocalServerState): void {
  const partial = `${path}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(partial, path);
}

/** Removes the file if it is still this process's (another server may have taken the port since). */
export function removeStateFile(path: string, pid = process.pid): void {
  if (readState(path)?.pid === pid) rmSync(path, { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The servers that run now, as their files say. Files left by a server that was killed (its pid no
 * longer alive) are skipped, and so are other users' files in a shared temporary directory: their
 * DynamoDB is not this user's to change.
 */
export function runningServers(dir = tmpdir(), alive: (pid: number) => boolean = isAlive): LocalServerState[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const servers: LocalServerState[] = [];
  for (const name of names) {
    if (!name.startsWith(PREFIX) || !name.endsWith(SUFFIX)) continue;
    const path = join(dir, name);
    try {
      if (uid !== undefined && statSync(path).uid !== uid) continue;
    } catch {
      continue;
    }
    const state = readState(path);
    if (state && alive(state.pid)) servers.push(state);
  }
  return servers;
}

function readState(path: string): LocalServerState | undefined {
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as Partial<LocalServerState>;
    const text = (value: unknown) => typeof value === 'string' && value !== '';
    if (
      typeof state.pid === 'number' &&
      text(state.endpoint) &&
      text(state.clientsTable) &&
      text(state.stateTable) &&
      text(state.customersTable) &&
      text(state.url)
    ) {
      return state as LocalServerState;
    }
  } catch {
    // Unreadable or not ours: as if it were not there.
  }
  return undefined;
}
