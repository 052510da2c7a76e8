import { describe, expect, it } from 'vitest';

import { type AnchorMatch, type RetrievedCandidate } from '../../src/retrieve/anchor-cache.js';
import { compareIds, mergeCandidates } from '../../src/retrieve/candidate-merge.js';
import type { ItemHit, ItemId } from '../../src/retrieve/item-index.js';
import { seededRandom } from '../reference/random.js';

/**
 * The reference: the merge written the obvious way, one object per candidate (AnchorCache.retrieve's
 * rule: drop excluded items and the anchors' own; best score first, then id; each candidate's
 * anchors best score first, anchor order on ties).
 */
function reference(lists: ItemHit[][], exclude: Set<ItemId>, anchorIds: ItemId[], importance: number[]) {
  const anchors = new Set(anchorIds);
  const merged = new Map<ItemId, RetrievedCandidate>();
  lists.forEach((list, a) => {
    for (const hit of list) {
      if (exclude.has(hit.id) || anchors.has(hit.id)) continue;
      const match: AnchorMatch = { anchorId: anchorIds[a]!, score: hit.score, importance: importance[a]! };
      const candidate = merged.get(hit.id);
      if (candidate === undefined) merged.set(hit.id, { id: hit.id, score: hit.score, anchors: [match] });
      else {
        candidate.anchors.push(match);
        candidate.score = Math.max(candidate.score, hit.score);
      }
    }
  });
  const candidates = [...merged.values()];
  for (const c of candidates) c.anchors.sort((x, y) => y.score - x.score);
  return candidates.sort((x, y) => y.score - x.score || compareIds(x.id, y.id));
}

describe('mergeCandidates', () => {
  it('gives the naive merge’s candidates, order, best anchor and match lists on seeded random hits', async () => {
    const leanResults: Array<{ lean: ReturnType<typeof mergeCandidates>; ids: ItemId[]; scores: number[] }> = [];
    for (let seed = 1; seed <= 60; seed++) {
      const random = seededRandom(seed);
      const anchorsCount = 1 + Math.floor(random() * 6);
      const universe = 20 + Math.floor(random() * 400);
      // Mixed id types on some seeds (numbers sort before strings), few score levels on others (ties).
      const mixed = seed % 3 === 0;
      const id = (k: number): ItemId => (mixed && k % 4 === 0 ? `s${k}` : k);
      const levels = seed % 2 === 0 ? 7 : 0;
      const score = () => {
        const x = levels > 0 ? Math.floor(random() * levels) / levels - 0.3 : random() * 2 - 1;
        return seed % 5 === 0 ? x : Math.fround(x); // float32 scores (what indexes return) and float64 ones
      };
      const anchorIds = Array.from({ length: anchorsCount }, (_, a) => id(universe + a));
      const lists = anchorIds.map((anchorId) => {
        const hits: ItemHit[] = [{ id: anchorId, score: 1 }]; // an anchor finds its own item
        const seen = new Set<ItemId>([anchorId]);
        for (let h = 0; h < Math.floor(random() * 150); h++) {
          const k = id(Math.floor(random() * (universe + anchorsCount)));
          if (seen.has(k)) continue;
          seen.add(k);
          hits.push({ id: k, score: score() });
        }
        return hits.sort((x, y) => y.score - x.score);
      });
      const exclude = new Set<ItemId>(Array.from({ length: Math.floor(random() * 40) }, () => id(Math.floor(random() * universe))));
      const importance = anchorIds.map(() => random());
      const expected = await reference(lists, exclude, anchorIds, importance);
      const mergeAnchors = anchorIds.map((itemId, a) => ({ itemId, importance: importance[a]! }));
      const merged = mergeCandidates(mergeAnchors, lists, exclude, true);
      // Without the match lists: the same candidates, from working arrays the next merge reuses.
      const lean = mergeCandidates(mergeAnchors, lists, exclude);
      leanResults.push({ lean, ids: expected.map((c) => c.id), scores: expected.map((c) => c.score) });
      expect(lean.matches).toBeUndefined();
      const label = `seed ${seed}`;
      expect(merged.count, label).toBe(expected.length);
      expect(merged.ids, label).toEqual(expected.map((c) => c.id));
      expect(Array.from(merged.scores), label).toEqual(expected.map((c) => c.score));
      expected.forEach((c, p) => {
        expect(anchorIds[merged.bestAnchor[p]!], `${label} position ${p}`).toBe(c.anchors[0]!.anchorId);
        expect(merged.matches!(p), `${label} position ${p}`).toEqual(c.anchors);
      });
    }
    // Every merge's result stays intact after later merges reused the working arrays.
    for (const { lean, ids, scores } of leanResults) {
      expect(lean.ids).toEqual(ids);
      expect(Array.from(lean.scores)).toEqual(scores);
    }
  });

  it('handles no anchors, empty lists and everything excluded', () => {
    expect(mergeCandidates([], [], new Set()).count).toBe(0);
    const anchors = [{ itemId: 1, importance: 1 }];
    expect(mergeCandidates(anchors, [[]], new Set()).count).toBe(0);
    const all = mergeCandidates(anchors, [[{ id: 1, score: 1 }, { id: 2, score: 0.5 }]], new Set([2]));
    expect(all.count).toBe(0);
  });

  it('merges ids the dense slot table cannot hold (large, fractional, negative) like small ones', async () => {
    for (const ids of [[5_000_000, 7, 5_000_000 + 1], [1.5, 2, 3], [-3, 4, 5], [0, 1, 2]]) {
      const lists = [
        [{ id: ids[0]!, score: 0.9 }, { id: ids[1]!, score: 0.5 }],
        [{ id: ids[1]!, score: 0.7 }, { id: ids[2]!, score: 0.7 }],
      ];
      const expected = await reference(lists, new Set(), ['a', 'b'], [1, 2]);
      const merged = mergeCandidates([{ itemId: 'a', importance: 1 }, { itemId: 'b', importance: 2 }], lists, new Set(), true);
      expect(merged.ids, String(ids)).toEqual(expected.map((c) => c.id));
      expect(merged.ids.map((_, p) => merged.matches!(p)), String(ids)).toEqual(expected.map((c) => c.anchors));
    }
  });

  it('orders negative zero after positive zero and falls back for NaN-free float64 scores', () => {
    const anchors = [{ itemId: 'a', importance: 1 }];
    const merged = mergeCandidates(anchors, [[{ id: 3, score: -0 }, { id: 1, score: 0 }, { id: 2, score: 0.1 }, { id: 0, score: 1e-300 }]], new Set());
    // −0 and +0 tie (their difference is 0): by id, as the naive merge does.
    expect(merged.ids).toEqual([2, 0, 1, 3]);
  });
});
