// `predict --explain`: each post's characters shown by how much they moved the model towards the predicted label
// (Predictor.explain). On a terminal, colour from red (against) to green (towards), in five steps; elsewhere (a pipe,
// a file, NO_COLOR) plain markers around the spans that matter: [+天气] towards, [-开心] against.
import { styleText } from 'util';
import { strengths } from '../predict/explain';
import type { Predictor } from '../predict/predictor';
import type { AttributionSpan } from '../predict/schema';
import type { Row } from './output';

/** Colour decided here (colourFor), not by Node (which, from Node 22, checks process.stdout itself). */
const paint = (format: Parameters<typeof styleText>[0], text: string): string =>
  (styleText as (f: typeof format, t: string, o: object) => string)(format, text, { validateStream: false });

/** Spans whose |score| is below this share of the post's largest stay unmarked: the markers show what mattered. */
const MARKED_SHARE = 0.25;
/** Spans above this share of the largest are strong (bold colour on a terminal). */
const STRONG_SHARE = 0.6;

/** Adds the explanation of its label to every row, each by the run that predicted it. */
export async function explainRows(rows: Row[], predictors: Predictor[], steps?: number): Promise<void> {
  for (const row of rows) {
    const predictor = predictors.find((p) => p.name === row.model) ?? predictors[0];
    row.tokens = (await predictor.explain(row.text, { label: row.label, steps })).tokens;
  }
}

/** Whether explanations print in colour: a terminal, and no NO_COLOR (https://no-color.org). */
export function colourFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR;
}

/** One post's text with its spans coloured or marked. */
export function formatExplanation(tokens: readonly AttributionSpan[], colour: boolean): string {
  const share = strengths(tokens);
  return tokens
    .map((s, i) => {
      if (share[i] < MARKED_SHARE) return s.text;
      const towards = s.score > 0;
      if (!colour) return `[${towards ? '+' : '-'}${s.text}]`;
      const hue = towards ? 'green' : 'red';
      return share[i] >= STRONG_SHARE ? paint(['bold', hue], s.text) : paint(hue, s.text);
    })
    .join('');
}

/** The lines printed under a prediction table: one per explained row, after a legend. */
export function formatExplanations(rows: readonly Row[], colour: boolean): string {
  const explained = rows.filter((r) => r.tokens);
  if (!explained.length) return '';
  const legend = colour
    ? `why (${paint('green', 'green')}: towards the label, ${paint('red', 'red')}: against; bold: most):`
    : 'why ([+ ]: towards the label, [- ]: against; unmarked: under a quarter of the strongest):';
  return [legend, ...explained.map((r) => `  ${r.sentiment}  ${formatExplanation(r.tokens!, colour)}`)].join('\n');
}
