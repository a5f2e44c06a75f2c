// The evaluation's outputs: the measured table beside the paper's quoted one (text), and an SVG chart of
// the five metrics for the three architectures, drawn from the result alone.
import { ARCHITECTURES } from './architecture.ts';
import type { EvaluationResult } from './evaluate.ts';

const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
const num = (v: number | null, f: (x: number) => string): string => (v === null ? '-' : f(v));

export function tableText(r: EvaluationResult): string {
  const lines: string[] = [];
  const head = ['', 'integrity', 'unauth. access', 'interop.', 'audit', 'latency p50', 'latency p95', 'FL accuracy', 'FL AUC'];
  const rows: string[][] = [head];
  for (const a of ARCHITECTURES) {
    const m = r.architectures[a];
    rows.push([
      a,
      pct(m.integrity),
      pct(m.unauthorizedAccess),
      pct(m.interoperability),
      pct(m.audit),
      `${m.latencyMs.p50} ms`,
      `${m.latencyMs.p95} ms`,
      num(m.flAccuracy, pct),
      num(m.flAuc, (x) => x.toFixed(3)),
    ]);
  }
  const widths = head.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const fmt = (row: string[]): string => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  lines.push(
    `Measured (seed ${r.seed}, workload ${r.workload.digest.slice(0, 16)}…: ${r.workload.clinics} clinics, ${r.workload.patients} patients, ${r.workload.accessAttempts} access and ${r.workload.tamperAttempts} tamper attempts, ${r.workload.updates} updates, ${r.workload.flRounds} FL rounds)`,
  );
  lines.push(...rows.map(fmt));
  lines.push('');
  lines.push(`Quoted from the paper, not measured here (its rows: Centralized EHR, Federated EHR, Blockchain-AI):`);
  const q = r.paper;
  const qrows: string[][] = [['', 'integrity', 'unauth. access', 'interop.', 'audit', 'latency']];
  for (const a of ARCHITECTURES) qrows.push([a, pct(q[a].integrity), pct(q[a].unauthorizedAccess), pct(q[a].interoperability), pct(q[a].audit), `${q[a].latencyMs} ms`]);
  const qw = qrows[0]!.map((_, i) => Math.max(...qrows.map((row) => row[i]!.length)));
  lines.push(...qrows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(qw[i]!) : c.padStart(qw[i]!))).join('  ')));
  lines.push('');
  lines.push(`Delay model: ${r.details.delayModel}. FL: ${r.details.fl.attack} by ${r.details.fl.attackers} of ${r.details.fl.clients} clinics.`);
  return lines.join('\n');
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Five panels (integrity, unauthorized access, interoperability, audit, latency p50/p95), three bars each. */
export function chartSvg(r: EvaluationResult): string {
  const colours: Record<string, string> = { centralized: '#9e9e9e', federated: '#5b8cc9', hygeia: '#2e7d32' };
  const panels: { title: string; unit: string; values: number[]; max: number; label: (v: number) => string; whisker?: number[] }[] = [
    { title: 'Integrity (detected)', unit: '%', values: ARCHITECTURES.map((a) => r.architectures[a].integrity * 100), max: 100, label: (v) => `${v.toFixed(1)}%` },
    { title: 'Unauthorized access', unit: '%', values: ARCHITECTURES.map((a) => r.architectures[a].unauthorizedAccess * 100), max: 100, label: (v) => `${v.toFixed(1)}%` },
    { title: 'Interoperability', unit: '%', values: ARCHITECTURES.map((a) => r.architectures[a].interoperability * 100), max: 100, label: (v) => `${v.toFixed(1)}%` },
    { title: 'Audit reconstructed', unit: '%', values: ARCHITECTURES.map((a) => r.architectures[a].audit * 100), max: 100, label: (v) => `${v.toFixed(1)}%` },
  ];
  const p50 = ARCHITECTURES.map((a) => r.architectures[a].latencyMs.p50);
  const p95 = ARCHITECTURES.map((a) => r.architectures[a].latencyMs.p95);
  const lmax = Math.max(1, ...p95) * 1.15;
  panels.push({ title: 'Update latency p50 (p95)', unit: 'ms', values: p50, max: lmax, label: (v) => `${Math.round(v)} ms`, whisker: p95 });
  const pw = 170;
  const ph = 220;
  const top = 72;
  const left = 20;
  const width = left + panels.length * (pw + 20) + 10;
  const height = top + ph + 95;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(
    `<text x="${left}" y="20" font-size="14" font-weight="bold">${esc(`Measured: seed ${r.seed}, workload ${r.workload.digest.slice(0, 12)}…, ${r.workload.accessAttempts} access / ${r.workload.tamperAttempts} tamper attempts`)}</text>`,
  );
  panels.forEach((p, i) => {
    const x0 = left + i * (pw + 20);
    out.push(`<text x="${x0 + pw / 2}" y="${top - 26}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
    out.push(`<line x1="${x0}" y1="${top + ph}" x2="${x0 + pw}" y2="${top + ph}" stroke="#333"/>`);
    const bw = pw / 4;
    p.values.forEach((v, k) => {
      const h = (Math.max(0, v) / p.max) * ph;
      const x = x0 + bw * 0.5 + k * bw;
      const name = ARCHITECTURES[k]!;
      out.push(
        `<rect x="${x.toFixed(1)}" y="${(top + ph - h).toFixed(1)}" width="${(bw * 0.8).toFixed(1)}" height="${h.toFixed(1)}" fill="${colours[name]}"><title>${esc(`${name}: ${p.label(v)}`)}</title></rect>`,
      );
      if (p.whisker) {
        const wy = top + ph - (p.whisker[k]! / p.max) * ph;
        const cx = x + bw * 0.4;
        out.push(
          `<line x1="${cx.toFixed(1)}" y1="${(top + ph - h).toFixed(1)}" x2="${cx.toFixed(1)}" y2="${wy.toFixed(1)}" stroke="#000"/><line x1="${(cx - 5).toFixed(1)}" y1="${wy.toFixed(1)}" x2="${(cx + 5).toFixed(1)}" y2="${wy.toFixed(1)}" stroke="#000"/>`,
        );
      }
      out.push(`<text x="${(x + bw * 0.4).toFixed(1)}" y="${(top + ph - h - 4).toFixed(1)}" text-anchor="middle" font-size="9">${esc(p.label(v))}</text>`);
    });
  });
  const ly = top + ph + 30;
  ARCHITECTURES.forEach((a, k) => {
    out.push(`<rect x="${left + k * 140}" y="${ly}" width="12" height="12" fill="${colours[a]}"/><text x="${left + k * 140 + 18}" y="${ly + 10}">${a}</text>`);
  });
  out.push(
    `<text x="${left}" y="${ly + 35}" fill="#555">${esc(`Every bar measured by npm run evaluate; the paper's quoted figures are in the JSON's "paper" field, not drawn.`)}</text>`,
  );
  out.push(`<text x="${left}" y="${ly + 50}" fill="#555">${esc(`Latency: ${r.details.delayModel}.`)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
