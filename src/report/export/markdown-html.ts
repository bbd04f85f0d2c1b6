/**
 * The subset of Markdown the Markdown exporter writes (headings, pipe tables with alignment, lists,
 * block quotes, paragraphs, **bold** and `code`) as HTML. The HTML report renders the Markdown
 * report through this, so the two always carry the same tables, tests, thresholds and warnings, and
 * every figure is readable without JavaScript. Not a general Markdown parser; text is escaped first.
 */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function inline(text: string): string {
  return escapeHtml(text)
    .replace(/\*\*(.+?)\*\*/g, '<b>$1</b>')
    .replace(/`([^`]+)`/g, '<code>$1</code>');
}

function cells(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
}

function table(lines: readonly string[]): string {
  const [head = '', rule = '', ...body] = lines;
  const right = cells(rule).map((c) => c.endsWith(':'));
  const cell = (tag: string, text: string, i: number): string => `<${tag}${right[i] ? ' class="num"' : ''}>${inline(text)}</${tag}>`;
  const rows = body.map((l) => `<tr>${cells(l).map((c, i) => cell('td', c, i)).join('')}</tr>`);
  return `<div class="table"><table><thead><tr>${cells(head).map((c, i) => cell('th', c, i)).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

/** Converts the exporter's Markdown to HTML. */
export function markdownToHtml(markdown: string): string {
  const lines = markdown.split('\n');
  const out: string[] = [];
  let i = 0;
  const take = (test: (l: string) => boolean): string[] => {
    const block: string[] = [];
    while (i < lines.length && test(lines[i] ?? '')) block.push(lines[i++] ?? '');
    return block;
  };
  while (i < lines.length) {
    const line = lines[i] ?? '';
    const heading = /^(#{1,4}) (.*)$/.exec(line);
    if (line.trim() === '') i++;
    else if (heading) {
      const level = heading[1]!.length;
      out.push(`<h${level}>${inline(heading[2]!)}</h${level}>`);
      i++;
    } else if (line.startsWith('|')) out.push(table(take((l) => l.startsWith('|'))));
    else if (line.startsWith('- ')) out.push(`<ul>${take((l) => l.startsWith('- ')).map((l) => `<li>${inline(l.slice(2))}</li>`).join('')}</ul>`);
    else if (line.startsWith('>')) {
      const quoted = take((l) => l.startsWith('>')).map((l) => l.replace(/^> ?/, ''));
      out.push(`<blockquote class="warn">${markdownToHtml(quoted.join('\n'))}</blockquote>`);
    } else out.push(`<p>${inline(take((l) => l.trim() !== '' && !/^(#{1,4} |\||- |>)/.test(l)).join(' '))}</p>`);
  }
  return out.join('\n');
}
