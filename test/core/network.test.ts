import { describe, expect, it } from 'vitest';
import { ipBucket } from '../../functions/core/network.js';

describe('ipBucket', () => {
  it('keeps IPv4 addresses whole', () => {
    expect(ipBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(ipBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('counts an IPv6 address by its /64', () => {
    expect(ipBucket('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(ipBucket('2001:db8:1:2:ffff::1')).toBe('2001:db8:1:2::/64');
    expect(ipBucket('2001:DB8:0001:0002::')).toBe('2001:db8:1:2::/64');
    expect(ipBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(ipBucket('::1')).toBe('0:0:0:0::/64');
  });

  it('reads a mapped IPv4 address only at the start, whatever its number of digits', () => {
    expect(ipBucket('::ffff:198.51.100.70')).toBe('198.51.100.70');
    expect(ipBucket('2001:db8::ffff:203.0.113.7')).toBe('2001:db8:0:0::/64');
  });

  it('fills a short :: with as few zero groups as it stands for', () => {
    expect(ipBucket('2001::2:3:4:5:6:7')).toBe('2001:0:2:3::/64');
  });

  it('ignores the spaces around an address', () => {
    expect(ipBucket(' 203.0.113.7 ')).toBe('203.0.113.7');
  });
});
