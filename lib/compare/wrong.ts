// The posts a run got most confidently wrong, each with why (Predictor.explain): the spans that pushed it towards the
// wrong label, for the compare report and `report --test`. Drawn as HTML with each span's background from red
// (against the label the run gave) to green (towards it).
import type { Prediction, Predictor } from '../predict/predictor';
import type { Explanation } from '../predict/schema';
import { esc } from './html';

/** Posts shown per run: enough to see a pattern, few enough that explaining them (32 steps each) stays cheap. */
export const WRONG_POSTS = 5;

export interface WrongPost {
  /** the label the post has in the test file */
  gold: number;
  goldName: string;
  /** why the run answered as it did */
  explanation: Explanation;
}

/** The `n` wrong predictions with the highest confidence, explained, most confident first. */
export async function mostConfidentlyWrong(
  predictor: Predictor,
  predictions: readonly Prediction[],
  gold: readonly number[],
  n = WRONG_POSTS
): Promise<WrongPost[]> {
  const wrong = predictions
    .map((p, i) => ({ p, gold: gold[i] }))
    .filter((x) => x.p.label !== x.gold)
    .sort((a, b) => b.p.confidence - a.p.confidence)
    .slice(0, n);
  const labels = predictor.labels ?? [];
  const out: WrongPost[] = [];
  for (const w of wrong) {
    const explanation = await predictor.explain(w.p.text, { label: w.p.label });
    out.push({ gold: w.gold, goldName: labels[w.gold] ?? String(w.gold), explanation });
  }
  return out;
}

/** One post's spans as HTML: a background whose strength is the span's share of the post's largest |score|. */
export function highlightedHtml(e: Explanation): string {
  const top = Math.max(0, ...e.tokens.map((s) => Math.abs(s.score)));
  return e.tokens
    .map((s) => {
      const share = top > 0 ? Math.abs(s.score) / top : 0;
      const rgb = s.score > 0 ? '46,160,67' : '215,58,73';
      const title = `${s.score >= 0 ? '+' : ''}${s.score.toFixed(4)}`;
      return `<span title="${title}" style="background:rgba(${rgb},${(0.75 * share).toFixed(2)})">${esc(s.text)}</span>`;
    })
    .join('');
}

/** The CSS the list needs. */
export const WRONG_POSTS_STYLE =
  'ol.wrong li{margin-bottom:.7rem}p.post{font-size:16px;margin:.1rem 0}p.post span{border-radius:3px}';

/** The list for a report: each post highlighted, with the label given, its confidence, and the right one. */
export function wrongPostsHtml(posts: readonly WrongPost[]): string {
  if (!posts.length) return '<p class="empty">no post of the test file was predicted wrong</p>';
  const items = posts
    .map(
      (w) =>
        `<li><p class="post">${highlightedHtml(w.explanation)}</p><p class="note">said ${esc(w.explanation.sentiment)} ` +
        `(${(w.explanation.probability * 100).toFixed(1)}%), is ${esc(w.goldName)}</p></li>`
    )
    .join('');
  return (
    '<p class="note">The posts predicted wrong with the most confidence. Green: what pushed the model towards the ' +
    'label it gave; red: what pushed against it (integrated gradients; hover a span for its score).</p>' +
    `<ol class="wrong">${items}</ol>`
  );
}
