import { notYet } from './_todo.js';
export async function deployCommand(_paths: string[], _opts: Record<string, unknown>): Promise<number | void> { notYet('deploy'); }
