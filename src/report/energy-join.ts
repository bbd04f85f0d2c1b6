/**
 * Joins energy.jsonl to invocations.jsonl by seq (docs/results.md): invocation lines are written as
 * invocations complete and their energy later, once the meter has covered the window.
 */
import type { EnergyLine, InvocationLine } from '../protocol/results.js';

/** The lines with their energy attached (copies; the inputs are not mutated). Lines without a record keep none. */
export function joinEnergy(lines: readonly InvocationLine[], energies: readonly EnergyLine[]): InvocationLine[] {
  if (energies.length === 0) return [...lines];
  const bySeq = new Map<number, EnergyLine>();
  for (const e of energies) bySeq.set(e.seq, e);
  return lines.map((line) => {
    const e = bySeq.get(line.seq);
    return e ? { ...line, energy: e.energy, energy_thesis: e.energy_thesis } : line;
  });
}
