/**
 * The documentation can be followed: in every Markdown file of the repository (README.md, docs/, any
 * other outside node_modules), every relative link names a file or folder that exists, inside the
 * repository, spelt with the right case, and every #anchor (in the same file or another) names a heading
 * there, slugged as GitHub slugs it. Code that cites the documentation (`docs/<file>.md`, with an optional
 * #anchor, or a quoted section such as docs/runbook.md, "Stuck lease" or README "Configuration"; any
 * other `.md` name too) names a file, anchor and section that exist. The last block runs the same
 * checker on a small broken tree, so a checker that found nothing could not pass unnoticed.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const THIS_FILE = relative(ROOT, fileURLToPath(import.meta.url))
  .split(sep)
  .join("/");

/** Folders that hold no documentation of the project: dependencies, build output, generated reports. */
const SKIPPED_DIRS = new Set(["node_modules", "cdk.out", "dist", "coverage", "reports"]);
/** Code that may cite the documentation. */
const CODE_FILE = /\.(ts|tsx|js|mjs|cjs|sh|ya?ml)$/;

/** Every file under `root`, as a path relative to it with `/` separators, skipping dot-folders. */
function filesUnder(root: string, dir = ""): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!entry.name.startsWith(".") && !SKIPPED_DIRS.has(entry.name)) found.push(...filesUnder(root, path));
    } else if (entry.isFile()) {
      found.push(path);
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------
// Reading Markdown as GitHub renders it: fenced code and code spans hold no links and no headings.

/** The text with fenced code blocks emptied (line count kept), and the fence state of each line. */
function withoutFences(markdown: string): string[] {
  const lines = markdown.split("\n");
  let fence: { char: string; length: number } | null = null;
  return lines.map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence === null) {
      if (marker) {
        fence = { char: marker[1]![0]!, length: marker[1]!.length };
        return "";
      }
      return line;
    }
    const closing = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line);
    if (closing && closing[1]![0] === fence.char && closing[1]!.length >= fence.length) fence = null;
    return "";
  });
}

/** Code spans and HTML comments blanked out, newlines kept, so indexes still give line numbers. */
function withoutCode(text: string): string {
  const blank = (match: string) => match.replace(/[^\n]/g, " ");
  return text.replace(/<!--[\s\S]*?-->/g, blank).replace(/(`+)(?!`)[\s\S]*?[^`]\1(?!`)/g, blank);
}

/** A heading's text as GitHub renders it: code, links, images and emphasis reduced to their text. */
function renderedText(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/`+([^`]*)`+/g, "$1")
    .replace(/(^|[^\w])_{1,2}([^_]+)_{1,2}(?=[^\w]|$)/g, "$1$2")
    .trim();
}

/**
 * GitHub's heading anchors (github-slugger): lowercase; every character that is not a letter, a mark, a
 * digit, a connector (`_`), a space or a hyphen removed; each space a hyphen; a repeated slug suffixed
 * -1, -2, ... in order of appearance.
 */
class Slugger {
  private readonly seen = new Map<string, number>();

  slug(heading: string): string {
    const base = renderedText(heading)
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
      .replace(/ /g, "-");
    let slug = base;
    while (this.seen.has(slug)) {
      const count = this.seen.get(base)! + 1;
      this.seen.set(base, count);
      slug = `${base}-${count}`;
    }
    this.seen.set(slug, 0);
    return slug;
  }
}

interface Heading {
  readonly text: string;
  readonly anchor: string;
}

/** The ATX and setext headings outside code, with their anchors; plus explicit `id`/`name` anchors. */
function headingsOf(markdown: string): { headings: Heading[]; anchors: Set<string> } {
  const lines = withoutFences(markdown);
  const slugger = new Slugger();
  const headings: Heading[] = [];
  lines.forEach((line, i) => {
    const atx = /^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(line);
    const previous = i > 0 ? lines[i - 1]! : "";
    const setext =
      /^ {0,3}(=+|-+)[ \t]*$/.test(line) &&
      previous.trim() !== "" &&
      !/^ {0,3}([#>|*+-]|\d+[.)]|`{3}|~{3})/.test(previous);
    const text = atx ? (atx[1] ?? "") : setext ? previous.trim() : null;
    if (text !== null) headings.push({ text, anchor: slugger.slug(text) });
  });
  const anchors = new Set(headings.map((h) => h.anchor));
  for (const match of lines.join("\n").matchAll(/<[a-z][^>]*\s(?:id|name)="([^"]+)"/gi)) {
    anchors.add(match[1]!);
  }
  return { headings, anchors };
}

interface Link {
  readonly target: string;
  readonly line: number;
}

/** Inline links and images, reference definitions and HTML href/src, outside code. */
function linksOf(markdown: string): Link[] {
  const text = withoutCode(withoutFences(markdown).join("\n"));
  const lineAt = (index: number) => text.slice(0, index).split("\n").length;
  const links: Link[] = [];
  const patterns = [
    /\]\(\s*(<[^>\n]*>|[^\s)]+)(?:\s+(?:"[^"\n]*"|'[^'\n]*'|\([^)\n]*\)))?\s*\)/g,
    /^ {0,3}\[[^\]\n]+\]:[ \t]*(<[^>\n]*>|\S+)/gm,
    /<[a-z][^>]*\s(?:href|src)="([^"]*)"/gi,
  ];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) {
      links.push({ target: match[1]!.replace(/^<(.*)>$/, "$1"), line: lineAt(match.index) });
    }
  }
  return links.sort((a, b) => a.line - b.line);
}

// ---------------------------------------------------------------------------------------------------
// Checking.

/** Whether `path` (relative to `root`) exists with exactly this spelling, case included. */
function existsExactly(root: string, path: string): boolean {
  let dir = root;
  for (const part of path.split("/").filter((p) => p !== "" && p !== ".")) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return false;
    }
    if (!entries.includes(part)) return false;
    dir = join(dir, part);
  }
  return true;
}

function isDirectory(root: string, path: string): boolean {
  return statSync(join(root, path)).isDirectory();
}

class Docs {
  private readonly cache = new Map<string, ReturnType<typeof headingsOf>>();
  constructor(readonly root: string) {}

  headings(path: string): ReturnType<typeof headingsOf> {
    let found = this.cache.get(path);
    if (!found) {
      found = headingsOf(readFileSync(join(this.root, path), "utf8"));
      this.cache.set(path, found);
    }
    return found;
  }

  /**
   * Why `target`, cited from the file `from`, cannot be followed; null if it can. `target` is a path
   * relative to `base` (a folder inside the root), with an optional #anchor.
   */
  problem(target: string, base: string): string | null {
    const hash = target.indexOf("#");
    const rawPath = hash === -1 ? target : target.slice(0, hash);
    const rawAnchor = hash === -1 ? null : target.slice(hash + 1);
    let path: string;
    let anchor: string | null;
    try {
      path = decodeURIComponent(rawPath);
      anchor = rawAnchor === null ? null : decodeURIComponent(rawAnchor);
    } catch {
      return `"${target}" is not a valid URL`;
    }
    const resolved = path.startsWith("/")
      ? resolve(this.root, `.${path}`)
      : resolve(this.root, base, path === "" ? "." : path);
    const inRepo = relative(this.root, resolved).split(sep).join("/");
    if (inRepo.startsWith("..") || resolve(this.root, inRepo) !== resolved) {
      return `"${target}" points outside the repository`;
    }
    if (!existsExactly(this.root, inRepo)) return `"${target}": no such file (${inRepo || "."})`;
    if (anchor === null || anchor === "" || !inRepo.endsWith(".md") || isDirectory(this.root, inRepo)) {
      return null;
    }
    if (this.headings(inRepo).anchors.has(anchor)) return null;
    return `"${target}": ${inRepo} has no heading with the anchor #${anchor}`;
  }

  /** Why `section` is not a heading of `path` (a heading whose text contains it); null if it is. */
  sectionProblem(path: string, section: string): string | null {
    const normal = (text: string) => renderedText(text).replace(/\s+/g, " ").toLowerCase();
    const wanted = normal(section);
    if (this.headings(path).headings.some((h) => normal(h.text).includes(wanted))) return null;
    return `${path} has no section "${section}"`;
  }
}

/** Every broken link in the Markdown files under `root`, as `file:line: problem`. */
function markdownProblems(root: string): { files: string[]; problems: string[] } {
  const docs = new Docs(root);
  const files = filesUnder(root).filter((f) => f.endsWith(".md"));
  const problems: string[] = [];
  for (const file of files) {
    const base = dirname(file);
    for (const link of linksOf(readFileSync(join(root, file), "utf8"))) {
      // External links (https:, mailto:, ...) are not this test's business.
      if (/^[a-z][a-z0-9+.-]*:/i.test(link.target) || link.target.startsWith("//")) continue;
      const target = link.target.startsWith("#") ? `${file.split("/").pop()}${link.target}` : link.target;
      const problem = docs.problem(target, base);
      if (problem) problems.push(`${file}:${link.line}: ${problem}`);
    }
  }
  return { files, problems };
}

/**
 * Every citation of a Markdown file in code under `root` that cannot be followed: a path (relative to
 * the root: `docs/runbook.md`, `README.md`) that does not exist or is absolute, an #anchor it does not
 * have, or a quoted section that is not one of its headings; and a quoted README section that is not
 * one of README.md's.
 */
function codeCitationProblems(root: string, skip: readonly string[] = []): string[] {
  const docs = new Docs(root);
  const problems: string[] = [];
  // Any name ending in .md, or README before a quoted section; a sentence's full stop is not part of it.
  const citation = /(?<![\w./~-])(\/?(?:[\w.~-]+\/)*[\w.~-]+\.md(?:#[\w-]+)?|README)(?![\w/-]|\.\w)/g;
  for (const file of filesUnder(root).filter((f) => CODE_FILE.test(f) && !skip.includes(f))) {
    const text = readFileSync(join(root, file), "utf8");
    for (const match of text.matchAll(citation)) {
      const cited = match[1]!;
      const line = text.slice(0, match.index).split("\n").length;
      // A quoted section may follow: `docs/runbook.md, "Stuck lease"`, `README "Configuration"`, across
      // a comment's line break too.
      const after = /^[\s,*/(]*"([^"\n]{1,80})"/.exec(text.slice(match.index + cited.length));
      const isReadme = cited === "README";
      if (isReadme && !after) continue;
      const path = isReadme ? "README.md" : cited;
      const problem = path.startsWith("/")
        ? `"${path}" is an absolute path: cite a file by its path in the repository`
        : (docs.problem(path, ".") ??
          (after ? docs.sectionProblem(path.replace(/#.*$/, ""), after[1]!) : null));
      if (problem) problems.push(`${file}:${line}: ${problem}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------

describe("GitHub's heading anchors", () => {
  it("are slugged as GitHub slugs them", () => {
    const slug = (text: string) => new Slugger().slug(text);
    expect(slug("The lease")).toBe("the-lease");
    expect(slug("4. Fenced writes")).toBe("4-fenced-writes");
    expect(slug("Running it locally (`npm start`)")).toBe("running-it-locally-npm-start");
    expect(slug("Changing `SHARD_COUNT`")).toBe("changing-shard_count");
    expect(slug("(a) Three contenders race; one wins, two stand by and poll")).toBe(
      "a-three-contenders-race-one-wins-two-stand-by-and-poll",
    );
    expect(slug("The lease record's states")).toBe("the-lease-records-states");
    expect(slug("Design → parts")).toBe("design--parts");
    expect(slug("Invariant 7")).toBe("invariant-7");
    expect(slug("See [the runbook](runbook.md) **now**")).toBe("see-the-runbook-now");
  });

  it("suffix repeated headings -1, -2, in order", () => {
    const slugger = new Slugger();
    expect(["Notes", "Notes", "Notes-1", "Notes"].map((h) => slugger.slug(h))).toEqual([
      "notes",
      "notes-1",
      "notes-1-1",
      "notes-2",
    ]);
  });

  it("come from headings outside code only", () => {
    const { headings, anchors } = headingsOf(
      ["# Title", "", "```text", "# not a heading", "```", "", "Setext", "------", "", "## Title"].join("\n"),
    );
    expect(headings.map((h) => h.anchor)).toEqual(["title", "setext", "title-1"]);
    expect(anchors.has("not-a-heading")).toBe(false);
  });
});

describe("the repository's Markdown", () => {
  const { files, problems } = markdownProblems(ROOT);

  it("includes README.md and every file under docs/", () => {
    const docs = readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md"));
    expect(files).toContain("README.md");
    expect(files).toEqual(expect.arrayContaining(docs.map((f) => `docs/${f}`)));
    expect(files).toContain("docs/design.md");
  });

  it("links only to files that exist and to anchors their headings have", () => {
    expect(problems).toEqual([]);
  });
});

describe("code that cites the documentation", () => {
  it("names files, anchors and sections that exist", () => {
    expect(codeCitationProblems(ROOT, [THIS_FILE])).toEqual([]);
  });
});

describe("the checker, on a tree with broken links", () => {
  const root = mkdtempSync(join(tmpdir(), "doc-links-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write(
    "README.md",
    [
      "# Project",
      "See [the guide](docs/guide.md), [its setup](docs/guide.md#setup) and [the top](#project).",
      "Broken: [gone](docs/gone.md), [no anchor](docs/guide.md#teardown), [here](#nowhere),",
      "[wrong case](docs/Guide.md), [outside](../elsewhere.md), [a folder](docs/).",
      "In code, not a link: `[x](docs/gone.md)`. External: [Stripe](https://docs.stripe.com/api#nowhere).",
    ].join("\n"),
  );
  write("docs/guide.md", "# Guide\n\n## Setup\n\nBack to [the README](../README.md#project).\n");
  write(
    "src/code.ts",
    [
      '// See docs/guide.md#setup and docs/guide.md, "Setup"; README "Project".',
      '// Broken: docs/gone.md, docs/guide.md#teardown, docs/guide.md, "Teardown", README "Nothing".',
      "// And: PLAN.md, guide.md (not relative to the root) and /home/someone/notes.md.",
    ].join("\n"),
  );

  it("reports a missing file, a missing anchor here or there, a wrong case and a link out of the tree", () => {
    expect(markdownProblems(root).problems).toEqual([
      'README.md:3: "docs/gone.md": no such file (docs/gone.md)',
      'README.md:3: "docs/guide.md#teardown": docs/guide.md has no heading with the anchor #teardown',
      'README.md:3: "README.md#nowhere": README.md has no heading with the anchor #nowhere',
      'README.md:4: "docs/Guide.md": no such file (docs/Guide.md)',
      'README.md:4: "../elsewhere.md" points outside the repository',
    ]);
  });

  it("reports code citing a missing file, anchor or section", () => {
    expect(codeCitationProblems(root)).toEqual([
      'src/code.ts:2: "docs/gone.md": no such file (docs/gone.md)',
      'src/code.ts:2: "docs/guide.md#teardown": docs/guide.md has no heading with the anchor #teardown',
      'src/code.ts:2: docs/guide.md has no section "Teardown"',
      'src/code.ts:2: README.md has no section "Nothing"',
      'src/code.ts:3: "PLAN.md": no such file (PLAN.md)',
      'src/code.ts:3: "guide.md": no such file (guide.md)',
      'src/code.ts:3: "/home/someone/notes.md" is an absolute path: cite a file by its path in the repository',
    ]);
  });
});
