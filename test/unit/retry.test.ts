import { describe, expect, it } from 'vitest';
import { ConfigError, ErrorCodes, KeyguardError, StoreError } from '../../src/errors.js';
import {
  groupMembershipError,
  RetryAbandoned,
  rejoinError,
  retryUntilDone,
} from '../../src/pipeline/retry.js';

describe('retryUntilDone', () => {
  it('retries until it succeeds, and gives up at once on what retrying cannot fix', async () => {
    let calls = 0;
    const ok = await retryUntilDone(
      async () => {
        if (++calls < 3) throw new Error('transient');
        return 'done';
      },
      { minDelayMs: 1, maxDelayMs: 2, shouldContinue: () => true },
    );
    expect([ok, calls]).toEqual(['done', 3]);
    const gone = Object.assign(new Error('The coordinator is not aware of this member'), {
      type: 'UNKNOWN_MEMBER_ID',
    });
    await expect(
      retryUntilDone(
        async () => {
          throw gone;
        },
        {
          minDelayMs: 1,
          maxDelayMs: 2,
          shouldContinue: () => true,
          giveUpOn: (e) => groupMembershipError(e) !== undefined,
        },
      ),
    ).rejects.toBeInstanceOf(RetryAbandoned);
  });
});

describe('group membership errors', () => {
  it('are recognised by type, through causes, and by message when kafkajs wrapped them', () => {
    expect(groupMembershipError({ type: 'REBALANCE_IN_PROGRESS' })).toBe('REBALANCE_IN_PROGRESS');
    expect(groupMembershipError(new Error('x', { cause: { type: 'ILLEGAL_GENERATION' } }))).toBe(
      'ILLEGAL_GENERATION',
    );
    expect(groupMembershipError(new Error('The coordinator is not aware of this member'))).toBe(
      'UNKNOWN_MEMBER_ID',
    );
    expect(groupMembershipError(new Error('Connection timeout'))).toBeUndefined();
    expect(groupMembershipError(undefined)).toBeUndefined();
    const e = rejoinError('UNKNOWN_MEMBER_ID', new Error('wrapped'));
    expect(e).toMatchObject({ type: 'UNKNOWN_MEMBER_ID', name: 'KafkaJSProtocolError' });
  });

  it('include a coordinator that is gone, so the batch gives up and kafkajs rejoins and finds the new one', () => {
    // What kafkajs' offset manager throws for ever once the coordinator's broker left the metadata.
    const gone = Object.assign(new Error('Broker 2 not found in the cached metadata'), {
      name: 'KafkaJSBrokerNotFound',
    });
    expect(groupMembershipError(gone)).toBe('NOT_COORDINATOR_FOR_GROUP');
    expect(groupMembershipError({ type: 'GROUP_COORDINATOR_NOT_AVAILABLE' })).toBe(
      'NOT_COORDINATOR_FOR_GROUP',
    );
    // kafkajs rejoins (joinAndSync, which looks the coordinator up again) on this type.
    expect(rejoinError('NOT_COORDINATOR_FOR_GROUP', gone)).toMatchObject({
      type: 'NOT_COORDINATOR_FOR_GROUP',
    });
  });
});

describe('retryUntilDone and KeyguardError.retriable', () => {
  it('retries a retriable KeyguardError (a store outage) and throws a non-retriable one at once', async () => {
    let calls = 0;
    const ok = await retryUntilDone(
      async () => {
        if (++calls < 2) throw new StoreError('redis down');
        return 'saved';
      },
      { minDelayMs: 1, maxDelayMs: 2, shouldContinue: () => true },
    );
    expect([ok, calls]).toEqual(['saved', 2]);
    calls = 0;
    const bad = new ConfigError('bad threshold');
    await expect(
      retryUntilDone(
        async () => {
          calls++;
          throw bad;
        },
        { minDelayMs: 1, maxDelayMs: 2, shouldContinue: () => true },
      ),
    ).rejects.toBe(bad);
    expect(calls).toBe(1);
  });

  it('RetryAbandoned is a KeyguardError with its own code and the last failure as cause', () => {
    const last = new Error('broker gone');
    const e = new RetryAbandoned(last);
    expect(e).toBeInstanceOf(KeyguardError);
    expect([e.code, e.cause, e.lastError]).toEqual([ErrorCodes.RETRY_ABANDONED, last, last]);
  });
});
