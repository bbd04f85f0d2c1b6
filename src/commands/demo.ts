import { notYet } from './_todo.js';
export async function demoCommand(_opts: Record<string, unknown>): Promise<number | void> { notYet('demo'); }
