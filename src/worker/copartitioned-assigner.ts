/**
 * Assigns partition N of every input topic to the same group member. Orders and fills are both
 * keyed by account, so one account's orders and fills land on the same partition number; with this
 * assigner one worker owns that account, and its baseline is never updated by two workers at once.
 * (Like Kafka Streams' co-partitioning: the topics must have the same partition count.)
 *
 * Sticky: each member says in its join metadata which partition numbers it owns, and keeps them as
 * far as balance allows, so a worker joining or dying moves only the partitions it must; the
 * others' work in flight, and their warm state, stay where they are.
 */
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/**
 * Partition numbers per member, balanced (counts differ by at most one), keeping each member's
 * `owned` partitions where possible. Pure and deterministic (members and partitions sorted).
 */
export function stickyBalance(
  members: ReadonlyArray<{ memberId: string; owned: readonly number[] }>,
  partitions: readonly number[],
): Map<string, number[]> {
  const sorted = [...members].sort((a, b) => a.memberId.localeCompare(b.memberId));
  const all = [...new Set(partitions)].sort((a, b) => a - b);
  const out = new Map<string, number[]>(sorted.map((m) => [m.memberId, []]));
  if (sorted.length === 0) return out;
  const floor = Math.floor(all.length / sorted.length);
  let ceilSlots = all.length % sorted.length; // members that may hold floor + 1
  const valid = new Set(all);
  const taken = new Set<number>();
  // Members holding the most go first, so the ones that may keep floor + 1 are those that have it.
  const byOwned = [...sorted].sort(
    (a, b) => b.owned.length - a.owned.length || a.memberId.localeCompare(b.memberId),
  );
  for (const m of byOwned) {
    const own = [...new Set(m.owned)].filter((p) => valid.has(p) && !taken.has(p)).sort((a, b) => a - b);
    let cap = floor;
    if (ceilSlots > 0 && own.length > floor) {
      cap = floor + 1;
      ceilSlots--;
    }
    for (const p of own.slice(0, cap)) {
      out.get(m.memberId)!.push(p);
      taken.add(p);
    }
  }
  // What is left goes to the members holding the fewest (ties: member id order).
  for (const p of all) {
    if (taken.has(p)) continue;
    const m = sorted
      .filter((x) => {
        const n = out.get(x.memberId)!.length;
        return n < floor || (n === floor && ceilSlots > 0);
      })
      .sort((a, b) => out.get(a.memberId)!.length - out.get(b.memberId)!.length)[0]!;
    if (out.get(m.memberId)!.length === floor) ceilSlots--;
    out.get(m.memberId)!.push(p);
    taken.add(p);
  }
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}

/** The assigner; `owned()` tells which partition numbers this member holds now (sent when joining). */
export function coPartitionedAssigner(owned: () => readonly number[] = () => []): PartitionAssigner {
  return ({ cluster }) => ({
    name: 'KeyguardCoPartitioned',
    version: 1,
    async assign({ members, topics }) {
      const partitions = new Set<number>();
      for (const topic of topics)
        for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) partitions.add(partitionId);
      const declared = members.map((m) => {
        let held: number[] = [];
        try {
          const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata);
          const parsed = JSON.parse(meta?.userData?.toString('utf8') || '[]') as unknown;
          if (Array.isArray(parsed)) held = parsed.filter((p): p is number => Number.isInteger(p));
        } catch {
          // an older member (no or other user data): owns nothing to keep
        }
        return { memberId: m.memberId, owned: held };
      });
      const balance = stickyBalance(declared, [...partitions]);
      return declared.map(({ memberId }) => {
        const numbers = balance.get(memberId) ?? [];
        const assignment: Record<string, number[]> = {};
        for (const topic of topics) {
          const present = new Set(cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId));
          const mine = numbers.filter((p) => present.has(p));
          if (mine.length > 0) assignment[topic] = mine;
        }
        return {
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 1,
            assignment,
            userData: Buffer.alloc(0),
          }),
        };
      });
    },
    protocol({ topics }) {
      return {
        name: 'KeyguardCoPartitioned',
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 1,
          topics,
          userData: Buffer.from(JSON.stringify(owned())),
        }),
      };
    },
  });
}
