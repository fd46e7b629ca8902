#!/bin/bash
# doc_links.sh - the docs' links: every relative markdown link target exists and every #anchor names a heading (GitHub slugs) of its target; http(s) links are checked for syntax only (TAP).
# Usage: doc_links.sh [SRCDIR]  (default: $top_srcdir, else the directory above this script)
set -u
export LC_ALL=C.UTF-8
top=${1:-${top_srcdir:-$(dirname "$0")/..}}
n=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/doc-links.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# links FILE...: prints one line per broken link ("FILE:LINE: target: reason");
# exits 1 when there is any.
links() {
	python3 - "$@" <<'EOF'
import os, re, sys, urllib.parse

FENCE = re.compile(r'^ {0,3}(```+|~~~+)')
HEADING = re.compile(r'^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$')
# [text](target) or ![alt](target), target without spaces, optional "title".
INLINE = re.compile(r'!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^\s()<>]*(?:\([^\s()]*\)[^\s()<>]*)*)>?(?:\s+"[^"]*")?\s*\)')
REFDEF = re.compile(r'^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$')
HTML_ID = re.compile(r'<a\s+(?:name|id)="([^"]+)"')

def slug(text):
    text = re.sub(r'`([^`]*)`', r'\1', text)                 # code spans: their text
    text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', text)   # links: their text
    text = re.sub(r'<[^>]+>', '', text)                      # inline HTML
    text = text.strip().lower()
    text = re.sub(r'[^\w\- ]', '', text)                     # GitHub keeps letters, digits, _, -, space
    return text.replace(' ', '-')

def lines_outside_code(path):
    """(line number, text) of every line outside fenced code blocks."""
    fence = None
    with open(path, encoding='utf-8') as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip('\n')
            m = FENCE.match(line)
            if fence:
                if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                    fence = None
                continue
            if m:
                fence = m.group(1)
                continue
            yield no, line

anchors_cache = {}
def anchors(path):
    if path not in anchors_cache:
        seen, out = {}, set()
        for _, line in lines_outside_code(path):
            for a in HTML_ID.findall(line):
                out.add(a)
            m = HEADING.match(line)
            if not m:
                continue
            s = slug(m.group(2))
            k = seen.get(s, 0)
            seen[s] = k + 1
            out.add(s if k == 0 else '%s-%d' % (s, k))
        anchors_cache[path] = out
    return anchors_cache[path]

def check_url(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ('http', 'https') or not u.netloc or re.search(r'\s', url):
        return 'malformed URL'
    host = u.hostname or ''
    if not re.fullmatch(r'[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]', host) and not re.fullmatch(r'[0-9A-Fa-f:.]+', host):
        return 'malformed host'
    return None

bad = 0
for path in sys.argv[1:]:
    base = os.path.dirname(path)
    for no, line in lines_outside_code(path):
        text = re.sub(r'`[^`]*`', '', line)                   # no links inside code spans
        targets = INLINE.findall(text)
        m = REFDEF.match(text)
        if m:
            targets.append(m.group(1))
        for t in targets:
            why = None
            if re.match(r'[A-Za-z][A-Za-z0-9+.-]*:', t):
                if t.startswith(('http:', 'https:')):
                    why = check_url(t)
                elif not t.startswith('mailto:'):
                    why = 'unknown scheme'
            else:
                file, _, anchor = t.partition('#')
                file = urllib.parse.unquote(file)
                target = os.path.normpath(os.path.join(base, file)) if file else path
                if not os.path.exists(target):
                    why = 'no such file ' + target
                elif anchor and target.endswith('.md') and os.path.isfile(target):
                    if urllib.parse.unquote(anchor) not in anchors(target):
                        why = 'no heading #%s in %s' % (anchor, target)
            if why:
                print('%s:%d: %s: %s' % (path, no, t, why))
                bad = 1
sys.exit(bad)
EOF
}

check() { # check NAME CONDITION...
	name=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		failed=1
	fi
}

# First prove the check catches what it is for, on planted files.
mkdir -p "$tmp/docs"
cat >"$tmp/good.md" <<'EOF'
# Good

See [the other](docs/other.md#a-heading-with-code-and-a-link), [here](#twice-1),
[top](#good), [a dir](docs/) and [the web](https://example.com/x?y=1#z).

## Twice

## Twice

```sh
# not a heading
[not a link](nowhere.md)
```

Text with `[code](nowhere.md)` in it.

[ref]: docs/other.md#second
EOF
cat >"$tmp/docs/other.md" <<'EOF'
# Other

## A heading with `code` and [a link](../good.md)

## Second
EOF
cat >"$tmp/broken-link.md" <<'EOF'
# Broken

A [missing file](docs/missing.md).
EOF
cat >"$tmp/broken-anchor.md" <<'EOF'
# Broken

An [anchor](docs/other.md#no-such-heading) and [one here](#nope).
EOF
cat >"$tmp/broken-url.md" <<'EOF'
# Broken

A [URL](https://) without a host.
EOF
check "planted: a file whose links and anchors all resolve passes" links "$tmp/good.md" "$tmp/docs/other.md"
out=$(links "$tmp/broken-link.md")
check "planted: a link to a missing file is caught" grep -q 'docs/missing.md: no such file' <<<"$out"
out=$(links "$tmp/broken-anchor.md")
check "planted: an anchor missing in another file is caught" grep -q 'no heading #no-such-heading' <<<"$out"
check "planted: an anchor missing in the same file is caught" grep -q 'no heading #nope' <<<"$out"
out=$(links "$tmp/broken-url.md")
check "planted: a malformed http(s) URL is caught" grep -q 'malformed' <<<"$out"

# Then the real docs.
docs=("$top/README.md" "$top/HACKING.md" "$top/BENCHMARKS.md" "$top"/docs/*.md "$top/contrib/multinode/README.md")
check "the docs are there (${#docs[@]} files)" test "${#docs[@]}" -ge 10
for f in "${docs[@]}"; do
	out=$(links "$f")
	rc=$?
	[ -n "$out" ] && printf '# %s\n' "${out//$'\n'/$'\n'# }"
	check "${f#"$top"/}: every link and anchor resolves" test "$rc" = 0
done

echo "1..$n"
exit $failed
