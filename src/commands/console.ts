import { notYet } from './_todo.js';
export async function consoleCommand(_suite: string, _opts: Record<string, unknown>): Promise<number | void> { notYet('console'); }
