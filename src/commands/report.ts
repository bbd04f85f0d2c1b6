import { notYet } from './_todo.js';
export async function reportCommand(_runs: string[], _opts: Record<string, unknown>): Promise<number | void> { notYet('report'); }
