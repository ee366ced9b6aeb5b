import { describe, expect, it } from 'vitest';
import { keySlot } from '../../src/state/key-slot.js';
import { parseRedisTarget } from '../../src/state/redis-connection.js';

describe('Redis connection strings', () => {
  it('reads one server', () => {
    expect(parseRedisTarget('redis://127.0.0.1:6380/0')).toEqual({
      cluster: false,
      tls: false,
      nodes: [{ host: '127.0.0.1', port: 6380 }],
    });
    expect(parseRedisTarget('rediss://cache.example').nodes[0]!.port).toBe(6379);
  });

  it('reads a cluster as its seed nodes, with credentials and TLS', () => {
    expect(parseRedisTarget('redis+cluster://10.0.0.1:7000,10.0.0.2:7001')).toEqual({
      cluster: true,
      tls: false,
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
    });
    expect(parseRedisTarget('rediss+cluster://kg:p%40ss@node-a:7000/')).toEqual({
      cluster: true,
      tls: true,
      nodes: [{ host: 'node-a', port: 7000 }],
      username: 'kg',
      password: 'p@ss',
    });
  });

  it('names the seed node it cannot read', () => {
    expect(() => parseRedisTarget('redis+cluster://a:7000,b')).toThrow(/"b" is not host:port/);
    expect(() => parseRedisTarget('redis+cluster://a:99999')).toThrow(/"a:99999"/);
    expect(() => parseRedisTarget('redis+cluster://')).toThrow(/expected redis\+cluster/);
    expect(() => parseRedisTarget('127.0.0.1:6379')).toThrow(
      /cannot read the Redis address "127.0.0.1:6379"/,
    );
  });
});

describe('cluster hash slots', () => {
  // CRC16/XMODEM's check value, and the examples of the Redis Cluster specification.
  it('computes the slot the cluster does', () => {
    expect(keySlot('123456789')).toBe(0x31c3 % 16384);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar')); // an empty tag: the whole key is hashed
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
    expect(keySlot('foo{bar}{zap}')).toBe(keySlot('bar'));
  });
});
