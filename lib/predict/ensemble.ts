// An ensemble of trained runs, as the old predict_universal.py --ensemble made one: for each text the runs'
// P(positive) averaged with equal weights, the label positive when that average is above 0.5. Runs of another label
// set: each label's probability averaged, the label the largest average (ties to the lower id).
import { DEFAULT_LABELS, isDefaultLabels, type LabelSet } from '../classifier/labels';
import type { Prediction } from './predictor';

export const ENSEMBLE_NAME = 'ensemble';

/** One prediction per text from each run's predictions of the same texts (runs[r][i] is run r on text i). */
export function averagePredictions(runs: Prediction[][], labels: LabelSet = DEFAULT_LABELS): Prediction[] {
  if (runs.length === 0) return [];
  const n = runs[0].length;
  if (runs.some((r) => r.length !== n)) throw new Error('averagePredictions: every run must predict the same texts');
  if (!isDefaultLabels(labels)) {
    return runs[0].map((first, i) => {
      const probabilities = labels.map((_, c) => runs.reduce((sum, r) => sum + r[i].probabilities[c], 0) / runs.length);
      const label = probabilities.reduce((best, v, c) => (v > probabilities[best] ? c : best), 0);
      const confidence = probabilities[label];
      return { text: first.text, label, sentiment: labels[label], confidence, probabilities, model: ENSEMBLE_NAME };
    });
  }
  return runs[0].map((first, i) => {
    const positive = runs.reduce((sum, r) => sum + r[i].probabilities[1], 0) / runs.length;
    const probabilities = [1 - positive, positive];
    const label = positive > 0.5 ? 1 : 0;
    return {
      text: first.text,
      label,
      sentiment: DEFAULT_LABELS[label],
      confidence: probabilities[label],
      probabilities,
      model: ENSEMBLE_NAME,
    };
  });
}
