/**
 * Splits a command line from branchbox.yaml into arguments without a shell: whitespace
 * separates, single quotes keep everything literally, double quotes keep everything but `\"`
 * and `\\`, a backslash outside quotes takes the next character literally. Nothing is
 * expanded or interpreted: `$HOME`, `;`, `|`, `&&`, `>`, `*` and backticks are plain
 * characters of the argument they are in. The result is run as an argument array.
 */
export function splitCommand(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inArg = false;
  let quote: "'" | '"' | undefined;
  let quoteStart = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else current += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) current += line[++i];
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      quoteStart = i;
      inArg = true;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new Error(`command ends with a lone backslash: ${line}`);
      current += line[++i];
      inArg = true;
    } else if (/\s/.test(c)) {
      if (inArg) args.push(current);
      current = '';
      inArg = false;
    } else {
      current += c;
      inArg = true;
    }
  }
  if (quote)
    throw new Error(
      `unterminated ${quote === "'" ? 'single' : 'double'} quote at character ${quoteStart + 1} of: ${line}`,
    );
  if (inArg) args.push(current);
  if (args.length === 0) throw new Error('the command is empty');
  return args;
}
