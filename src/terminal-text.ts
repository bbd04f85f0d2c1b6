/**
 * Text from outside (server messages, suite keys, function output, request URLs) on its way to a
 * terminal: control characters are shown as escapes, so an ESC sequence in a name can neither
 * recolour, move the cursor nor rewrite what the terminal already shows (docs/reliability.md).
 */

// C0 controls except tab and newline, DEL, C1 controls, and the bidi/line-separator characters that
// reorder or split what a reader sees.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every unsafe character replaced by a visible `\xNN` / `\u{NNNN}` escape. */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}
