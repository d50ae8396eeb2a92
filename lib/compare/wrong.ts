// The posts a run got most confidently wrong, each with why (Predictor.explain): the spans that pushed it towards the
// wrong label, for the compare report and `report --test`. Drawn as HTML with each span's background from red
// (against the label the run gave) to green (towards it).
import type { Prediction, Predictor } from '../predict/predictor';
import { strengths } from '../predict/explain';
import type { Explanation } from '../predict/schema';
import { devPostsOf, type Posts } from './dev-posts';
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

/** Which posts a list is of, and the list (or why there is none). */
export interface WrongPosts {
  /** e.g. "dev posts (the run's split of train.txt)", "test.txt" */
  source: string;
  posts: WrongPost[];
  /** why the posts meant could not be read (then `posts` is empty) */
  problem?: string;
}

/**
 * The `n` posts of `data` predicted wrong with the highest confidence, explained, most confident first.
 * `predictions` of data.texts may be given when they are at hand.
 */
export async function mostConfidentlyWrong(
  predictor: Predictor,
  data: Posts,
  n = WRONG_POSTS,
  predictions?: readonly Prediction[]
): Promise<WrongPost[]> {
  if (n === 0 || data.texts.length === 0) return [];
  const predicted = predictions ?? (await predictor.predict(data.texts));
  const wrong = predicted
    .map((p, i) => ({ p, gold: data.labels[i] }))
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

/**
 * The run's dev posts it gets most confidently wrong (its split made again, devPostsOf); where they cannot be read,
 * those of `fallback` (a labelled file, e.g. the test file), or none with the reason.
 */
export async function wrongPostsOf(
  predictor: Predictor,
  run: string,
  n: number,
  fallback?: { name: string; data: Posts; predictions?: readonly Prediction[] }
): Promise<WrongPosts> {
  const found = await devPostsOf(run);
  if ('dev' in found)
    return { source: "dev posts (the run's own split)", posts: await mostConfidentlyWrong(predictor, found.dev, n) };
  if (!fallback) return { source: 'dev posts', posts: [], problem: found.problem };
  const posts = await mostConfidentlyWrong(predictor, fallback.data, n, fallback.predictions);
  return { source: `${fallback.name} (the dev posts cannot be read: ${found.problem})`, posts };
}

/** One post's spans as HTML: a background whose strength is the span's share of the post's largest |score|. */
export function highlightedHtml(e: Explanation): string {
  const share = strengths(e.tokens);
  return e.tokens
    .map((s, i) => {
      const rgb = s.score > 0 ? '46,160,67' : '215,58,73';
      const title = `${s.score >= 0 ? '+' : ''}${s.score.toFixed(4)}`;
      return `<span title="${title}" style="background:rgba(${rgb},${(0.75 * share[i]).toFixed(2)})">${esc(s.text)}</span>`;
    })
    .join('');
}

/** The CSS the list needs. */
export const WRONG_POSTS_STYLE =
  'ol.wrong li{margin-bottom:.7rem}p.post{font-size:16px;margin:.1rem 0}p.post span{border-radius:3px}';

/** The section of a report: a heading naming the posts, then each highlighted, with the label given, its
 * confidence, and the right one. */
export function wrongPostsHtml(w: WrongPosts, heading: string): string {
  const title = `<${heading}>Most confidently wrong: ${esc(w.source)}</${heading}>`;
  if (w.problem) return `${title}<p class="empty">not shown: ${esc(w.problem)}</p>`;
  if (!w.posts.length) return `${title}<p class="empty">no post was predicted wrong</p>`;
  const items = w.posts
    .map(
      (p) =>
        `<li><p class="post">${highlightedHtml(p.explanation)}</p><p class="note">said ${esc(p.explanation.sentiment)} ` +
        `(${(p.explanation.probability * 100).toFixed(1)}%), is ${esc(p.goldName)}</p></li>`
    )
    .join('');
  return (
    title +
    '<p class="note">The posts predicted wrong with the most confidence. Green: what pushed the model towards the ' +
    'label it gave; red: what pushed against it (integrated gradients; hover a span for its score).</p>' +
    `<ol class="wrong">${items}</ol>`
  );
}
