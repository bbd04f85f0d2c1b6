import { notYet } from './_todo.js';
export async function buildCommand(_paths: string[], _opts: Record<string, unknown>): Promise<number | void> { notYet('build'); }
