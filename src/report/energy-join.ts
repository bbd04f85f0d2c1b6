/**
 * Joins energy.jsonl to invocations.jsonl by seq (docs/results.md): invocation lines are written as
 * invocations complete and their energy later, once the meter has covered the window. Given the run's
 * baselines, isolated energies are re-taken against the baseline interpolated between the phase
 * before and the phase after (energy.jsonl, written during the run, could only use the one before).
 */
import { isolate, type BaselinePhases } from '../meter/baseline-drift.js';
import type { Energy, EnergyLine, InvocationLine } from '../protocol/results.js';

/** The lines with their energy attached (copies; the inputs are not mutated). Lines without a record keep none. */
export function joinEnergy(lines: readonly InvocationLine[], energies: readonly EnergyLine[], phases?: BaselinePhases | null): InvocationLine[] {
  if (energies.length === 0) return [...lines];
  const bySeq = new Map<number, EnergyLine>();
  for (const e of energies) bySeq.set(e.seq, e);
  const iso = (e: Energy | null | undefined): Energy | null => (e ? (phases ? isolate(e, phases) : e) : null);
  return lines.map((line) => {
    const e = bySeq.get(line.seq);
    if (!e) return line;
    // Object.assign, not a spread followed by properties (~40 µs a line on Node 20, docs/performance.md).
    const joined: InvocationLine = Object.assign({}, line, { energy: iso(e.energy), energy_thesis: iso(e.energy_thesis) });
    if (e.energy_invocation !== undefined) joined.energy_invocation = iso(e.energy_invocation);
    return joined;
  });
}
