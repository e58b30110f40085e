/// <reference lib="webworker" />
/**
 * A pair verification worker of verifyPool.ts: verifies each batch of pairs it is sent with verifyPair and answers the
 * results in the batch's order, their arrays transferred.
 */
import type { VerifiedPair } from './incremental';
import { verifyPair } from './verifyPairs';
import type { VerifyRequest, VerifyResponse } from './verifyPool';

declare const self: DedicatedWorkerGlobalScope;

self.onmessage = (event: MessageEvent<VerifyRequest>) => {
  let response: VerifyResponse;
  const transfer = new Set<ArrayBuffer>();
  const t0 = performance.now();
  try {
    const results: (VerifiedPair | null)[] = event.data.jobs.map(verifyPair);
    for (const r of results) {
      if (!r) continue;
      transfer.add(r.inliers.buffer as ArrayBuffer);
      if (r.R) transfer.add(r.R.buffer as ArrayBuffer);
    }
    response = { results, ms: performance.now() - t0 };
  } catch (error) {
    transfer.clear();
    response = { error: `pair verification failed: ${(error as Error).message}` };
  }
  self.postMessage(response, [...transfer]);
};
