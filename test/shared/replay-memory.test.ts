/**
 * The replay conformance suite on the memory backend, and on cachedReplay with memory on both
 * sides (the Redis and Postgres runs are in test/redis, test/upstash and test/postgres).
 */
import { memoryReplay, type MemoryReplay } from "../../adapters/memory/index.ts";
import { cachedReplay, type CachedReplay } from "../../src/replay/index.ts";
import { replayConformance } from "../../src/testing/index.ts";

replayConformance<MemoryReplay>("memory", {
  create: () => memoryReplay(),
  direct: { storedSeqs: async (backend, channel) => backend.raw.seqs(channel) },
});

replayConformance<CachedReplay>("cached, memory in front of memory", {
  create: () => cachedReplay({ cache: memoryReplay(), durable: memoryReplay(), size: 4 }),
  direct: { storedSeqs: async (backend, channel) => (backend.durable as MemoryReplay).raw.seqs(channel) },
});
