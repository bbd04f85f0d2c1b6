import { notYet } from './_todo.js';
export async function meterReadCommand(_spec: string): Promise<number | void> { notYet('meter read'); }
export async function meterWatchCommand(_spec: string, _opts: Record<string, unknown>): Promise<number | void> { notYet('meter watch'); }
export async function meterSimulateCommand(_opts: Record<string, unknown>): Promise<number | void> { notYet('meter simulate'); }
