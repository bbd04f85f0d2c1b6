import { notYet } from './_todo.js';
export async function serveCommand(_opts: Record<string, unknown>): Promise<number | void> { notYet('serve'); }
