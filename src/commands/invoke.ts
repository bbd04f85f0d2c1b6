import { notYet } from './_todo.js';
export async function invokeCommand(_name: string, _input: string | undefined, _opts: Record<string, unknown>): Promise<number | void> { notYet('invoke'); }
