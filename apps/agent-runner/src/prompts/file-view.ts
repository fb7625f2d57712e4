import { posix } from 'node:path';

/** How much of a file goes into a prompt up front (the model can read_file the rest). */
export const VIEW_LIMITS = { wholeChars: 4_000, excerptLines: 40, outlineLines: 120, plannerReadChars: 16_000, testHeadLines: 8, testTailLines: 15 } as const;

/** Top-level declarations per language: the lines worth seeing in a file too long to show whole. */
const DECLARATIONS: Array<{ ext: RegExp; line: RegExp }> = [
  {
    ext: /\.(c|m)?[jt]sx?$/,
    // Top level, or exported from a namespace; a class's methods; tests, nested ones too (a
    // relay trial's outline stopped at the first describe). Not the statements of a function
    // body (`  const x = ...`, `  if (...) {`), which another trial's outline was full of.
    line: /^(export\s+)?(default\s+)?(declare\s+)?(abstract\s+)?(async\s+)?(function\*?|class|interface|type|enum|const|let|var|namespace|module)\s+[\w$]|^\s{2}(export|declare)\s+(default\s+)?(abstract\s+)?(async\s+)?(function\*?|class|interface|type|enum|const|let|var|namespace)\s+[\w$]|^\s{0,8}(describe|it|test|suite)(\.\w+)?\(|^\s{2}(?!(if|for|while|switch|catch|return|await|typeof|new|else|do|try|with|function)\b)(static\s+)?(async\s+)?(get\s+|set\s+)?[\w$#]+\s*\([^)]*\)\s*(:\s*[^{]+)?\{\s*$|^(module\.)?exports(\.\w+)?\s*=/,
  },
  { ext: /\.py$/, line: /^\s{0,4}(async\s+)?(def|class)\s+\w/ },
  { ext: /\.go$/, line: /^(func|type|var|const)\s/ },
  { ext: /\.rs$/, line: /^\s{0,4}(pub(\([^)]*\))?\s+)?(async\s+)?(fn|struct|enum|trait|impl|mod|type|const)\s/ },
  {
    ext: /\.(java|kt|cs|scala)$/,
    line: /^\s{0,4}(public|private|protected|internal|static|final|abstract|override|data|sealed|\s)*(class|interface|enum|record|object|fun|void|[\w<>[\],\s]+\s+\w+\s*\()/,
  },
  { ext: /\.rb$/, line: /^\s{0,2}(def|class|module)\s/ },
  { ext: /\.(md|markdown)$/, line: /^#{1,3}\s/ },
];

const TEST_PATH = /(^|\/)(tests?|__tests__|spec)\/|\.(test|spec)\.[cm]?[jt]sx?$|_test\.(go|py)$|(^|\/)test_[^/]*\.py$/;

/**
 * A test file's imports and its end, under its outline: new tests are mostly appended, and a
 * relay trial's coder read both before it could patch (two turns).
 */
function testFileEnds(path: string, all: ReadonlyArray<{ n: number; text: string }>, width: number): string {
  if (!TEST_PATH.test(path) || all.length <= VIEW_LIMITS.testHeadLines + VIEW_LIMITS.testTailLines) return '';
  const head = all.slice(0, VIEW_LIMITS.testHeadLines);
  const tail = all.slice(-VIEW_LIMITS.testTailLines);
  return `\n[its first ${head.length} lines]\n${numbered(head, width)}\n[its last ${tail.length} lines]\n${numbered(tail, width)}`;
}

/** `  12\ttext` lines. */
function numbered(lines: ReadonlyArray<{ n: number; text: string }>, width: number): string {
  return lines.map((l) => `${String(l.n).padStart(width)}\t${l.text}`).join('\n');
}

function splitLines(text: string): string[] {
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

/**
 * A file as the coder first sees it: whole (numbered) when short; otherwise its outline (the
 * top-level declarations with their line numbers) or, where no outline can be made, its first
 * lines, with a note of what is left out. A long neighbour to imitate or test file no longer
 * fills the prompt on every turn of a tool loop.
 */
export function fileView(
  path: string,
  text: string,
  options: { purpose: 'change' | 'imitate'; wholeChars?: number } = { purpose: 'change' },
): { text: string; whole: boolean } {
  const lines = splitLines(text);
  const width = String(lines.length).length;
  const all = lines.map((t, i) => ({ n: i + 1, text: t }));
  if (text.length <= (options.wholeChars ?? VIEW_LIMITS.wholeChars) && (options.purpose === 'change' || lines.length <= VIEW_LIMITS.excerptLines)) {
    return { text: numbered(all, width), whole: true };
  }
  const rule = DECLARATIONS.find((d) => d.ext.test(posix.extname(path)) || d.ext.test(path));
  const declared = rule ? all.filter((l) => rule.line.test(l.text)) : [];
  const cut = (l: { n: number; text: string }) => ({ n: l.n, text: l.text.length > 160 ? `${l.text.slice(0, 157)}...` : l.text });
  if (options.purpose === 'change' && declared.length >= 3) {
    const shown = declared.slice(0, VIEW_LIMITS.outlineLines).map(cut);
    const more = declared.length > shown.length ? `\n[... ${declared.length - shown.length} more declarations ...]` : '';
    return {
      text: `[outline: ${lines.length} lines, ${text.length} characters; its declarations with their line numbers; read_file to see the code]\n${numbered(shown, width)}${more}${testFileEnds(path, all, width)}`,
      whole: false,
    };
  }
  const head = all.slice(0, VIEW_LIMITS.excerptLines).map(cut);
  return { text: `[the first ${head.length} of ${lines.length} lines; read_file to see more]\n${numbered(head, width)}`, whole: false };
}
