// Held-out evaluation: accuracy at 0.5 and the area under the ROC curve (rank statistic, ties averaged).

export function accuracy(prob: Float32Array, labels: ArrayLike<number>): number {
  let right = 0;
  for (let i = 0; i < prob.length; i++) if ((prob[i]! >= 0.5 ? 1 : 0) === labels[i]) right++;
  return right / prob.length;
}

export function auc(prob: Float32Array, labels: ArrayLike<number>): number {
  const idx = Array.from(prob, (_, i) => i).sort((a, b) => prob[a]! - prob[b]!);
  const ranks = new Float64Array(prob.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && prob[idx[j + 1]!] === prob[idx[i]!]) j++;
    for (let k = i; k <= j; k++) ranks[idx[k]!] = (i + j) / 2 + 1;
    i = j + 1;
  }
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < prob.length; i++) {
    if (labels[i] === 1) {
      pos++;
      rankSum += ranks[i]!;
    }
  }
  const neg = prob.length - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}
