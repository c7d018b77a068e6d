#!/usr/bin/env python3
"""Checks that the code and the documents cite format pages that exist.

    check_spec_links.py [ROOT]       check the tree at ROOT (default: this file's repository)
    check_spec_links.py --self-test  prove on small fixture trees that the check fails when it must

Scans every text file git tracks (plus untracked files that are not ignored; without git, the
files under ROOT), and prints one line per problem, `file:line: what`, then exits 1:

- a link `docs/spec/<page>.md#<anchor>` (from the repository root), a relative `spec/<page>.md#...`
  (from the citing file's folder), or a Markdown link in a .md file, that points at a missing file
  or at a heading the page does not have (anchors are GitHub slugs: lowercase; letters, digits,
  `_` and `-` kept; spaces become `-`; everything else dropped);
- an old-style citation of the specification documents that are not in the repository: their
  file names, the word "spec" followed by a section sign, or a bare section sign (a section sign
  is allowed on a line that names an external standard: FIPS, RFC, ISO, IEC, IEEE, NIST);
- a bug code of the reference (R<n>, P<n>, S<n>, n = 1..99; ranges like P1-P3 count each code)
  without a heading `<code>: ...` on docs/spec/reference-protocol.md;
- a page in docs/spec/ without any heading, or one the index docs/spec/README.md does not link.

What is read: Markdown and text files whole; C and C++ sources and linker scripts only in their
comments; CMake, shell, Python and similar files only in their `#` comments; bug codes are looked
for only in those documents and comments. Standard library only.
"""

import os
import re
import subprocess
import sys
import tempfile

SPEC_DIR = "docs/spec"
BUG_PAGE = "docs/spec/reference-protocol.md"
INDEX_PAGE = "docs/spec/README.md"
SECTION = "\u00a7"
# The two documents the old citations named; split so this file never cites them itself.
OLD_DOCUMENTS = ("mcu" + "boot.md", "anycloud-mqtt-" + "protocol.md")

DOC_EXTENSIONS = {".md", ".markdown", ".txt", ".rst"}
C_EXTENSIONS = {".h", ".hh", ".hpp", ".hxx", ".c", ".cc", ".cpp", ".cxx", ".ipp", ".inl", ".ld"}
HASH_EXTENSIONS = {".cmake", ".sh", ".py", ".yml", ".yaml", ".toml", ".cfg", ".conf", ".ini"}
HASH_NAMES = {"CMakeLists.txt", ".clang-format", ".clang-tidy", ".gitignore", ".gitattributes"}

ROOT_LINK = re.compile(r"(?<![\w/.-])docs/spec/([\w.-]+\.md)(?:#([\w-]*))?")
RELATIVE_LINK = re.compile(r"(?<![\w/.-])((?:\.\.?/)*spec/[\w.-]+\.md)(?:#([\w-]*))?")
MD_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"\n]*\")?\)")
OLD_NAMES = re.compile(r"spec/(?:" + "|".join(re.escape(d) for d in OLD_DOCUMENTS) + r")")
SPEC_SECTION = re.compile(r"\bspec\s*" + SECTION, re.IGNORECASE)
BARE_SECTION = re.compile(SECTION)
EXTERNAL_STANDARD = re.compile(r"\b(?:FIPS|RFC|ISO|IEC|IEEE|NIST)[ -]?\d")
BUG_CODE = re.compile(
    r"(?<![\w-])([RPS])([1-9][0-9]?)(?:\s?[\u2013\u2014-]\s?\1?([1-9][0-9]?))?(?!\w|\.\d)")
BUG_HEADING = re.compile(r"^([RPS][1-9][0-9]?):")
ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*(?:#+[ \t]*)?$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


# --- reading ---------------------------------------------------------------------------------

def list_files(root, use_git=True):
    """Paths relative to root, '/'-separated: git's view when possible, else a walk."""
    if use_git:
        try:
            out = subprocess.run(
                ["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                check=True, capture_output=True).stdout
            files = sorted({f for f in out.decode("utf-8", "replace").split("\0") if f})
            return [f for f in files if os.path.isfile(os.path.join(root, f))]
        except (OSError, subprocess.CalledProcessError):
            pass
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not d.startswith("build"))
        for name in sorted(names):
            files.append(os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/"))
    return files


def read_text(path):
    """The file's text, or None for a binary or non-UTF-8 file."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def kind_of(path, text):
    name = path.rsplit("/", 1)[-1]
    ext = os.path.splitext(name)[1].lower()
    if name in HASH_NAMES or ext in HASH_EXTENSIONS:
        return "hash"
    if ext in C_EXTENSIONS:
        return "c"
    if ext in DOC_EXTENSIONS:
        return "doc"
    if text.startswith("#!"):
        return "hash"
    return "other"


def c_comments(text):
    """`text` with everything outside C/C++ comments blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)
    mode = "code"
    raw_end = ""
    while i < n:
        c = text[i]
        if mode == "code":
            if text.startswith("//", i):
                mode = "line"
                out.append("  ")
                i += 2
                continue
            if text.startswith("/*", i):
                mode = "block"
                out.append("  ")
                i += 2
                continue
            raw = re.match(r'R"([^()\\\s]{0,16})\(', text[i:i + 20])
            if raw and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
                mode = "raw"
                raw_end = ")" + raw.group(1) + '"'
                out.append(" " * len(raw.group(0)))
                i += len(raw.group(0))
                continue
            if c in "\"'":
                mode = c
            out.append("\n" if c == "\n" else " ")
        elif mode == "line":
            if c == "\n":
                mode = "code"
            out.append(c)
        elif mode == "block":
            if text.startswith("*/", i):
                mode = "code"
                out.append("  ")
                i += 2
                continue
            out.append(c)
        elif mode == "raw":
            if text.startswith(raw_end, i):
                mode = "code"
                out.append(" " * len(raw_end))
                i += len(raw_end)
                continue
            out.append("\n" if c == "\n" else " ")
        else:  # inside a string or character literal; `mode` is its quote
            if c == "\\" and i + 1 < n:
                out.append("  " if text[i + 1] != "\n" else " \n")
                i += 2
                continue
            if c == mode or c == "\n":
                mode = "code"
            out.append("\n" if c == "\n" else " ")
        i += 1
    return "".join(out)


def hash_comments(text):
    """`text` with everything outside `#` comments blanked; quotes on a line are respected."""
    lines = []
    for line in text.split("\n"):
        quote = None
        keep = ""
        for j, c in enumerate(line):
            if quote:
                if c == "\\":
                    continue
                if c == quote and (j == 0 or line[j - 1] != "\\"):
                    quote = None
            elif c in "\"'":
                quote = c
            elif c == "#":
                keep = " " * j + line[j:]
                break
        lines.append(keep)
    return "\n".join(lines)


def markdown_prose(text):
    """`text` with fenced code blocks and inline code spans blanked (for Markdown links)."""
    lines = []
    fence = None
    for line in text.split("\n"):
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            lines.append("")
            continue
        if m:
            fence = m.group(1)
            lines.append("")
            continue
        lines.append(re.sub(r"(`+)(.+?)\1", lambda s: " " * len(s.group(0)), line))
    return "\n".join(lines)


# --- headings ----------------------------------------------------------------------------------

def slug(heading):
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def headings(text):
    """[(line number, heading text)] of the ATX headings outside fenced code blocks."""
    found = []
    fence = None
    for number, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        h = ATX_HEADING.match(line)
        if h:
            found.append((number, h.group(2)))
    return found


def anchors(text):
    """Every anchor GitHub gives the headings of `text` (duplicates numbered -1, -2, ...)."""
    seen = {}
    result = set()
    for _, heading in headings(text):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else "%s-%d" % (base, count))
    return result


# --- the check ---------------------------------------------------------------------------------

class Checker:
    def __init__(self, root, use_git=True):
        self.root = os.path.abspath(root)
        self.use_git = use_git
        self.problems = []
        self.anchor_cache = {}
        self.links = 0
        self.codes = 0

    def report(self, path, line, what):
        self.problems.append((path, line, what))

    def page_anchors(self, relpath):
        """Anchors of the Markdown file at `relpath` (from the root), or None if it is missing."""
        if relpath not in self.anchor_cache:
            text = read_text(os.path.join(self.root, relpath))
            self.anchor_cache[relpath] = None if text is None else anchors(text)
        return self.anchor_cache[relpath]

    def check_target(self, path, line, target, anchor, shown):
        """A link to the file `target` (relative to the root) and `anchor` (None: no anchor)."""
        self.links += 1
        if target.startswith("../") or target == "..":
            self.report(path, line, "link %s leaves the repository" % shown)
            return
        full = os.path.join(self.root, target)
        if not os.path.exists(full):
            self.report(path, line, "link %s: no such file %s" % (shown, target))
            return
        if anchor is None or not target.endswith(".md"):
            return
        if anchor == "":
            self.report(path, line, "link %s: empty anchor" % shown)
        elif anchor not in (self.page_anchors(target) or set()):
            self.report(path, line, "link %s: %s has no heading with anchor #%s"
                        % (shown, target, anchor))

    def scan(self, path, text, kind):
        folder = os.path.dirname(path)
        if kind == "c":
            visible = c_comments(text)
        elif kind == "hash":
            visible = hash_comments(text)
        else:
            visible = text
        prose = markdown_prose(text) if path.endswith(".md") else None
        for number, line in enumerate(visible.split("\n"), 1):
            if not line.strip():
                continue
            self.scan_old_style(path, number, line)
            for m in ROOT_LINK.finditer(line):
                if m.group(1) in OLD_DOCUMENTS:
                    continue  # reported as old style
                if prose is not None and line[:m.start()].endswith("]("):
                    continue  # a Markdown link: checked below, relative to this file
                self.check_target(path, number, SPEC_DIR + "/" + m.group(1), m.group(2),
                                  m.group(0))
            for m in RELATIVE_LINK.finditer(line):
                if m.group(1).rsplit("/", 1)[-1] in OLD_DOCUMENTS:
                    continue
                if prose is not None and line[:m.start()].endswith("]("):
                    continue
                target = os.path.normpath(os.path.join(folder, m.group(1))).replace(os.sep, "/")
                self.check_target(path, number, target, m.group(2), m.group(0))
            if kind in ("doc", "c", "hash"):
                self.scan_bug_codes(path, number, line)
        if prose is not None:
            for number, line in enumerate(prose.split("\n"), 1):
                for m in MD_LINK.finditer(line):
                    self.check_markdown_link(path, number, m.group(1))

    def scan_old_style(self, path, number, line):
        for m in OLD_NAMES.finditer(line):
            self.report(path, number, "old-style reference %r: cite docs/spec/<page>.md#<anchor>"
                        % m.group(0))
        spec_sections = list(SPEC_SECTION.finditer(line))
        for m in spec_sections:
            self.report(path, number, "old-style reference %r: cite docs/spec/<page>.md#<anchor>"
                        % line[m.start():m.end() + 4].strip())
        if spec_sections or EXTERNAL_STANDARD.search(line):
            return
        for m in BARE_SECTION.finditer(line):
            self.report(path, number, "old-style reference %r: a section sign names no page here"
                        % line[m.start():m.end() + 4].strip())

    def scan_bug_codes(self, path, number, line):
        for m in BUG_CODE.finditer(line):
            letter, first, last = m.group(1), int(m.group(2)), m.group(3)
            last = int(last) if last else first
            if last < first or last - first > 30:
                last = first
            for n in range(first, last + 1):
                self.codes += 1
                if "%s%d" % (letter, n) not in self.bug_headings:
                    self.report(path, number, "bug code %s%d has no heading '%s%d: ...' on %s"
                                % (letter, n, letter, n, BUG_PAGE))

    def check_markdown_link(self, path, number, target):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("//"):
            return  # http:, https:, mailto:, ...
        file_part, _, anchor = target.partition("#")
        if "#" not in target:
            anchor = None
        if file_part == "":
            resolved = path
        elif file_part.startswith("/"):
            resolved = file_part.lstrip("/")
        else:
            resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part))
            resolved = resolved.replace(os.sep, "/")
        self.check_target(path, number, resolved, anchor, "(%s)" % target)

    def check_pages(self):
        spec = os.path.join(self.root, SPEC_DIR)
        pages = sorted(p for p in os.listdir(spec) if p.endswith(".md")) if os.path.isdir(spec) else []
        index = read_text(os.path.join(self.root, INDEX_PAGE))
        for page in pages:
            relpath = SPEC_DIR + "/" + page
            text = read_text(os.path.join(self.root, relpath)) or ""
            if not headings(text):
                self.report(relpath, 1, "page has no heading")
            if index is not None and page != "README.md" and "(%s" % page not in index:
                self.report(INDEX_PAGE, 1, "the index does not link %s" % page)
        if index is None:
            self.report(INDEX_PAGE, 1, "missing: the index of %s" % SPEC_DIR)

    def run(self):
        bug_text = read_text(os.path.join(self.root, BUG_PAGE))
        self.bug_headings = set()
        if bug_text is None:
            self.report(BUG_PAGE, 1, "missing: bug codes have nowhere to point")
        else:
            for _, heading in headings(bug_text):
                m = BUG_HEADING.match(heading.strip())
                if m:
                    self.bug_headings.add(m.group(1))
        self.check_pages()
        files = list_files(self.root, self.use_git)
        for path in files:
            text = read_text(os.path.join(self.root, path))
            if text is None:
                continue
            self.scan(path, text, kind_of(path, text))
        self.files = len(files)
        return sorted(set(self.problems))


def check(root, use_git=True, out=sys.stdout):
    checker = Checker(root, use_git)
    problems = checker.run()
    for path, line, what in problems:
        print("%s:%d: %s" % (path, line, what), file=out)
    if problems:
        print("check_spec_links: %d problem(s)" % len(problems), file=out)
        return 1
    print("check_spec_links: %d files, %d links, %d bug code citations: ok"
          % (checker.files, checker.links, checker.codes), file=out)
    return 0


# --- self-test ---------------------------------------------------------------------------------

def write_tree(root, files):
    for path, text in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(text)


def base_tree():
    """A small tree that passes: an index, two pages, a bug page, a citing source and doc."""
    link = "docs/" + "spec/"
    return {
        "docs/spec/README.md": "# Index\n\n[a](a.md), [bugs](reference-protocol.md)\n",
        "docs/spec/a.md": "# Page A\n\n## Swap status\n\n### Rule 7: image_ok before copy_done\n",
        "docs/spec/reference-protocol.md": "# Bugs\n\n### R11: last chunk\n\n### P1: x\n\n"
                                           "### P2: y\n\n### P3: z\n",
        "docs/design.md": "# Design\n\nSee [the status](spec/a.md#swap-status) and\n"
                          "spec/a.md#rule-7-image_ok-before-copy_done, R11.\n\n"
                          "```cpp\n[](int x) { return x; }  // not a link\n```\n",
        "src/x.cpp": "// The log (%sa.md#swap-status), fixes R11 and P1\u2013P3.\n"
                     "const char* k = \"R42 S9 in a string is not a citation\";\n"
                     "int P7 = 0;  // FIPS 180-4 %s4.1.2 is an external standard\n"
                     % (link, SECTION),
        "CMakeLists.txt": "# docs.spec_links runs %sREADME.md's check\n" % link,
    }


def self_test():
    old_name = "spec/" + OLD_DOCUMENTS[0]
    link = "docs/" + "spec/"
    cases = [
        # (name, files to add or replace, the problems expected, as substrings, one each)
        ("a clean tree passes", {}, []),
        ("a dangling anchor", {"src/y.h": "// See %sa.md#no-such-heading.\n" % link},
         ["src/y.h:1: link docs/spec/a.md#no-such-heading: docs/spec/a.md has no heading with "
          "anchor #no-such-heading"]),
        ("a missing page", {"src/y.h": "// See %smissing.md#x.\n" % link},
         ["src/y.h:1: link docs/spec/missing.md#x: no such file docs/spec/missing.md"]),
        ("a relative link from docs/", {"docs/z.md": "# Z\n\nspec/a.md#swap-stat\n"},
         ["docs/z.md:3: link spec/a.md#swap-stat"]),
        ("a Markdown link to a missing heading",
         {"docs/spec/a.md": "# Page A\n\n## Swap status\n\n### Rule 7: image_ok before copy_done\n"
                            "\n[x](reference-protocol.md#r12-none)\n"},
         ["docs/spec/a.md:7: link (reference-protocol.md#r12-none)"]),
        ("a Markdown link to a missing heading, reported once",
         {"docs/z.md": "# Z\n\n[x](spec/a.md#bogus)\n"},
         ["docs/z.md:3: link (spec/a.md#bogus): docs/spec/a.md has no heading with anchor #bogus"]),
        ("a Markdown link to a missing file", {"docs/z.md": "# Z\n\n[x](../nowhere.md)\n"},
         ["docs/z.md:3: link (../nowhere.md): no such file nowhere.md"]),
        ("old-style references",
         {"src/y.h": "// (%s %s3.5)\n// (spec %s10 rule 1)\n// see %s7.4\n"
                     % (old_name, SECTION, SECTION, SECTION)},
         ["src/y.h:1: old-style reference '%s'" % old_name, "src/y.h:1: old-style reference",
          "src/y.h:2: old-style reference", "src/y.h:3: old-style reference"]),
        ("old-style reference in a README", {"boot/README.md": "# Boot\n\n(%s)\n" % old_name},
         ["boot/README.md:3: old-style reference"]),
        ("a bug code without its heading", {"src/y.cpp": "int f();  // the reference's R42\n"},
         ["src/y.cpp:1: bug code R42 has no heading"]),
        ("a bug code range with a gap", {"docs/z.md": "# Z\n\nP1\u2013P4 and S7.\n"},
         ["bug code P4 has no heading", "bug code S7 has no heading"]),
        ("a page without a heading", {"docs/spec/b.md": "no heading here\n",
                                      "docs/spec/README.md": "# Index\n\n[a](a.md), [b](b.md), "
                                                             "[bugs](reference-protocol.md)\n"},
         ["docs/spec/b.md:1: page has no heading"]),
        ("a page the index does not link", {"docs/spec/c.md": "# C\n"},
         ["docs/spec/README.md:1: the index does not link c.md"]),
        ("a link in a CMake comment", {"CMakeLists.txt": "# see %sa.md#nope\n" % link},
         ["CMakeLists.txt:1: link"]),
    ]
    failures = 0
    for name, changes, expected in cases:
        with tempfile.TemporaryDirectory() as root:
            files = base_tree()
            files.update(changes)
            write_tree(root, files)
            checker = Checker(root, use_git=False)
            lines = ["%s:%d: %s" % p for p in checker.run()]
        unmatched = list(lines)
        missing = []
        for want in expected:
            hit = next((l for l in unmatched if want in l), None)
            if hit is None:
                missing.append(want)
            else:
                unmatched.remove(hit)
        ok = not missing and not unmatched
        failures += not ok
        print("%s %s" % ("ok  " if ok else "FAIL", name))
        for want in missing:
            print("     expected a problem like: %s" % want)
        for line in unmatched:
            print("     unexpected: %s" % line)
    print("check_spec_links self-test: %d of %d cases as expected"
          % (len(cases) - failures, len(cases)))
    return 1 if failures else 0


def main(argv):
    if len(argv) > 1 and argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0
    if len(argv) > 1 and argv[1] == "--self-test":
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    if not os.path.isdir(root):
        print("check_spec_links: no such folder: %s" % root, file=sys.stderr)
        return 2
    return check(root)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
