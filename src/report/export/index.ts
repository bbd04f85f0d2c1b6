/** The exporters by --format name. */
import type { ReportContext } from './context.js';
import { serialize as csv } from './csv.js';
import { serialize as html } from './html.js';
import { serialize as json } from './json.js';
import { serialize as md } from './markdown.js';
import { serialize as thesis } from './thesis.js';

export const FORMATS = ['md', 'csv', 'json', 'html', 'thesis'] as const;
export type Format = (typeof FORMATS)[number];

export const EXPORTERS: Record<Format, (ctx: ReportContext) => string> = { md, csv, json, html, thesis };
