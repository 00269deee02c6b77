import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';

export interface ListeningSocket {
  /** As `ss` prints it: `127.0.0.1`, `::`, `::ffff:127.0.0.1`. */
  address: string;
  port: number;
}

/**
 * The TCP sockets that process `pid` listens on, read from /proc (Linux). Throws, never returns an
 * empty list, where /proc cannot tell: a check of listening addresses must not pass by not looking.
 */
export function listeningSockets(pid: number): ListeningSocket[] {
  const fdDir = `/proc/${pid}/fd`;
  if (!existsSync('/proc/net/tcp') || !existsSync(fdDir)) {
    throw new Error(`cannot see the sockets of pid ${pid}: this check reads /proc/net/tcp and ${fdDir} (Linux only)`);
  }
  const inodes = new Set<string>();
  for (const fd of readdirSync(fdDir)) {
    const target = (() => {
      try {
        return readlinkSync(`${fdDir}/${fd}`);
      } catch {
        return ''; // closed meanwhile
      }
    })();
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode) inodes.add(inode);
  }
  const sockets: ListeningSocket[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      // sl local_address rem_address st ... inode (the 10th column); st 0A is TCP_LISTEN.
      const [, address, port, state, inode] =
        /^\s*\d+:\s+([0-9A-F]+):([0-9A-F]+)\s+\S+\s+([0-9A-F]{2})\s+(?:\S+\s+){5}(\d+)/.exec(line) ?? [];
      if (!address || !port || state !== '0A' || !inode || !inodes.has(inode)) continue;
      sockets.push({ address: decodeAddress(address), port: Number.parseInt(port, 16) });
    }
  }
  return sockets;
}

/** /proc prints each 32-bit word of an address in the host's byte order. */
function decodeAddress(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  if (endianness() === 'LE') for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  const ipv4 = (b: Buffer) => [...b].join('.');
  if (bytes.length === 4) return ipv4(bytes);
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${ipv4(bytes.subarray(12))}`;
  }
  if (bytes.every((b) => b === 0)) return '::';
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}
