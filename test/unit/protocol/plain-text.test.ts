/** Terminal text made plain for toasts, tooltips, tables and panels (schemas/src/plain-text.ts). */
import { describe, expect, it } from 'vitest';
import { plainLine, plainText } from '../../../schemas/src/plain-text';

describe('plainText', () => {
  it('removes colours, cursor moves and hyperlinks, keeping the words, tabs and newlines', () => {
    expect(plainText('\u001b[91m/bin/sh: \u001b[0mnpm: not found')).toBe('/bin/sh: npm: not found');
    expect(plainText('\u001b[1;32mok\u001b[39m\tdone\n\u001b[2K\u001b[1Gnext')).toBe('ok\tdone\nnext');
    expect(plainText('\u001b]8;;https://example.invalid\u0007link\u001b]8;;\u0007')).toBe('link');
  });

  it('turns the control characters left (a lone ESC, BEL, carriage return) into spaces', () => {
    expect(plainText('a\u001bb\u0007c\rd\u0085e')).toBe('a b c d e');
  });
});

describe('plainLine', () => {
  it('makes one trimmed line of it', () => {
    expect(plainLine('  \u001b[91merror:\u001b[0m\n  disk   full\r\n')).toBe('error: disk full');
  });
});
