#!/usr/bin/env python3
"""Offline link check of the gureum docs (no network; standard library only).

    python3 scripts/check-links.py                    # Markdown sources
    python3 scripts/check-links.py --book target/book # also the rendered mdBook HTML

Markdown: every relative link in README*.md, examples/README.md and docs/**/*.md must name an
existing file, and an anchor (`page.md#section`, `#section`) must name a heading of that page
(slugs as GitHub and mdBook make them). A page of the book (listed in docs/SUMMARY.md) that links
another Markdown file under docs/ needs that file in SUMMARY.md too, or the link is dead on the
site. Links with a scheme (https:, mailto:) are not fetched.

Book: every relative href/src in the rendered HTML must name a file of the book, and its
fragment an id in that file.

Exit status 0 when every link resolves, 1 otherwise (each broken link is printed).
"""
import argparse
import html.parser
import os
import re
import sys
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`+[^`]*`+")
# [text](target "title") — target without spaces, or <target with spaces>
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(\S+)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ID = re.compile(r"""<a\s+[^>]*(?:id|name)\s*=\s*["']([^"']+)["']""")
INCLUDE = re.compile(r"\{\{#include\s+([^}\s:]+)(?::(\d*))?(?::(\d*))?\s*\}\}")


def slug(text):
    """The anchor GitHub and mdBook give a heading: lower case, markup and punctuation
    dropped, spaces to '-'; letters of every script (Hangul too) are kept."""
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their text
    text = text.replace("`", "")
    out = []
    for ch in text.strip().lower():
        if ch.isalnum() or ch in "-_":
            out.append(ch)
        elif ch.isspace():
            out.append("-")
    return "".join(out)


def strip_code(lines):
    """Lines outside fenced code blocks, with inline code removed, as (number, text).
    Headings keep their inline code: its text is part of the anchor (mdBook, GitHub)."""
    fenced = False
    for n, line in enumerate(lines, 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield n, line if HEADING.match(line) else INLINE_CODE.sub("", line)


def expand_includes(path, text, depth=0):
    """mdBook's {{#include file:from:to}} (1-based lines, both ends optional)."""
    if depth > 3:
        return text

    def repl(m):
        inc = os.path.normpath(os.path.join(os.path.dirname(path), m.group(1)))
        if not os.path.isfile(inc):
            return text_of_missing(m.group(1))
        with open(inc, encoding="utf-8") as f:
            lines = f.read().split("\n")
        lo = int(m.group(2)) - 1 if m.group(2) else 0
        hi = int(m.group(3)) if m.group(3) else len(lines)
        return expand_includes(inc, "\n".join(lines[lo:hi]), depth + 1)

    return INCLUDE.sub(repl, text)


def text_of_missing(name):
    return "[missing include](%s)" % name


_anchor_cache = {}


def anchors_of(path):
    if path in _anchor_cache:
        return _anchor_cache[path]
    with open(path, encoding="utf-8") as f:
        text = expand_includes(path, f.read())
    seen = {}
    found = set()
    for _, line in strip_code(text.split("\n")):
        m = HEADING.match(line)
        if m:
            s = slug(m.group(2))
            n = seen.get(s, 0)
            seen[s] = n + 1
            found.add(s if n == 0 else "%s-%d" % (s, n))
        for a in HTML_ID.findall(line):
            found.add(a)
    _anchor_cache[path] = found
    return found


def summary_pages():
    pages = set()
    path = os.path.join(DOCS, "SUMMARY.md")
    if not os.path.isfile(path):
        return pages
    with open(path, encoding="utf-8") as f:
        for _, line in strip_code(f.read().split("\n")):
            for m in LINK.finditer(line):
                t = m.group(1).strip("<>")
                if t:
                    pages.add(os.path.normpath(os.path.join(DOCS, urllib.parse.unquote(t))))
    return pages


def markdown_files():
    files = [os.path.join(ROOT, f) for f in sorted(os.listdir(ROOT)) if re.match(r"README.*\.md$", f)]
    ex = os.path.join(ROOT, "examples", "README.md")
    if os.path.isfile(ex):
        files.append(ex)
    for d, dirs, names in os.walk(DOCS):
        dirs.sort()
        files += [os.path.join(d, n) for n in sorted(names) if n.endswith(".md")]
    return files


def check_markdown():
    errors = []
    book = summary_pages()
    for src in markdown_files():
        with open(src, encoding="utf-8") as f:
            text = expand_includes(src, f.read())
        rel_src = os.path.relpath(src, ROOT)
        in_book = os.path.normpath(src) in book
        for n, line in strip_code(text.split("\n")):
            targets = [m.group(1).strip("<>") for m in LINK.finditer(line)]
            m = REF_DEF.match(line)
            if m:
                targets.append(m.group(1).strip("<>"))
            for t in targets:
                err = check_md_target(src, t, in_book, book)
                if err:
                    errors.append("%s:%d: %s: %s" % (rel_src, n, t, err))
    return errors


def check_md_target(src, target, in_book, book):
    if not target or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
        return None  # https:, mailto: ... (not fetched: offline)
    path, _, frag = target.partition("#")
    path = urllib.parse.unquote(path)
    dest = os.path.normpath(os.path.join(os.path.dirname(src), path)) if path else src
    if not os.path.exists(dest):
        return "no such file"
    if in_book and path and not dest.startswith(DOCS + os.sep):
        return "a book page links a file outside docs/ (dead on the site; name it in `code` instead)"
    if in_book and path and dest.endswith(".md"):
        if dest not in book:
            return "not in docs/SUMMARY.md (the page is not part of the book)"
    if frag:
        if not dest.endswith(".md"):
            return None
        if urllib.parse.unquote(frag) not in anchors_of(dest):
            return "no heading with anchor #%s in %s" % (frag, os.path.relpath(dest, ROOT))
    return None


class _Html(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("id", "name") and v:
                self.ids.add(v)
            if v and ((k == "href" and tag in ("a", "link")) or (k == "src" and tag in ("img", "script"))):
                self.links.append((self.getpos()[0], v))


def parse_html(path, cache={}):
    if path not in cache:
        p = _Html()
        with open(path, encoding="utf-8", errors="replace") as f:
            p.feed(f.read())
        cache[path] = p
    return cache[path]


def check_book(book_dir):
    errors = []
    book_dir = os.path.abspath(book_dir)
    if not os.path.isfile(os.path.join(book_dir, "index.html")):
        return ["%s: no index.html (was the book built?)" % book_dir]
    # print.html and toc.html repeat every page with rewritten links; 404.html is a template.
    skip = {"print.html", "toc.html", "404.html"}
    pages = 0
    for d, dirs, names in os.walk(book_dir):
        dirs[:] = sorted(x for x in dirs if x not in ("fonts", "FontAwesome", "css"))
        for name in sorted(names):
            if not name.endswith(".html") or name in skip:
                continue
            pages += 1
            src = os.path.join(d, name)
            for line, href in parse_html(src).links:
                if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href) or href.startswith("//"):
                    continue
                path, _, frag = href.partition("#")
                path = urllib.parse.unquote(path.split("?")[0])
                dest = os.path.normpath(os.path.join(d, path)) if path else src
                if os.path.isdir(dest) and dest.startswith(book_dir + os.sep):
                    # A directory of pages (conformance/results/): fine when it holds pages;
                    # the sidebar lists them.
                    if any(x.endswith(".html") for x in os.listdir(dest)) and not frag:
                        continue
                    dest = os.path.join(dest, "index.html")
                rel = os.path.relpath(src, book_dir)
                if not dest.startswith(book_dir + os.sep) or not os.path.exists(dest):
                    errors.append("%s:%d: %s: no such file in the book" % (rel, line, href))
                elif frag and dest.endswith(".html") and urllib.parse.unquote(frag) not in parse_html(dest).ids:
                    errors.append("%s:%d: %s: no id %r in %s" % (rel, line, href, frag, os.path.relpath(dest, book_dir)))
    if pages == 0:
        errors.append("%s: no pages" % book_dir)
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--book", help="rendered mdBook directory to check as well")
    a = ap.parse_args()
    errors = check_markdown()
    n_md = len(markdown_files())
    if a.book:
        errors += check_book(a.book)
    for e in errors:
        print("broken link: " + e, file=sys.stderr)
    print("check-links: %d Markdown files%s, %d broken links"
          % (n_md, " + book " + a.book if a.book else "", len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
