"""report-check.py: strict checks of what the report writers produce.

  report-check.py chrome FILE   Chrome trace JSON: parses; every X event has
                                ts and dur; events nest on each track; every
                                flow has a start and an end, each inside a
                                slice of its track; every pid and tid named
  report-check.py html FILE     HTML: tags balanced and properly closed,
                                no external URL of any kind (in an
                                attribute, a style or a script; text may
                                quote URLs, as span attributes do)
  report-check.py compare FILE OP
                                the DOM of a comparison page (the file or
                                chromium --dump-dom of it): the table's
                                cells hold no markup as text; the CDF
                                shows base and head; the change chart,
                                the inlined flame graph and two
                                waterfalls side by side are there; the
                                headline says slower and names OP; the
                                noise and drift are said under the
                                verdict; every gate has its row, and an
                                inconclusive one never reads pass

Prints one line per problem and exits 1 if there is any, else prints a
summary and exits 0."""
import json
import re
import sys
from html.parser import HTMLParser

problems = []


def bad(msg):
    problems.append(msg)
    print("report-check: " + msg)


def check_chrome(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    tracks = {}
    named_pids, named_tids = set(), set()
    flows = {}
    nx = 0
    for e in events:
        ph = e.get("ph")
        if ph == "M":
            if e.get("name") == "process_name":
                named_pids.add(e["pid"])
            if e.get("name") == "thread_name":
                named_tids.add((e["pid"], e["tid"]))
            continue
        if ph == "X":
            nx += 1
            for key in ("ts", "dur", "pid", "tid", "name"):
                if key not in e:
                    bad("X event without %s: %r" % (key, e))
            if not isinstance(e.get("ts"), (int, float)) or \
                    not isinstance(e.get("dur"), (int, float)) or \
                    e["dur"] < 0:
                bad("X event with bad ts/dur: %r" % e)
                continue
            tracks.setdefault((e["pid"], e["tid"]), []).append(e)
        elif ph in ("s", "f"):
            flows.setdefault(e.get("id"), {}).setdefault(ph, []).append(e)
        else:
            bad("unexpected event phase %r" % ph)
    if nx == 0:
        bad("no X events")
    eps = 1e-6
    for key, evs in tracks.items():
        if key[0] not in named_pids:
            bad("pid %r has no process_name" % key[0])
        if key not in named_tids:
            bad("track %r has no thread_name" % (key,))
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []
        for e in evs:
            end = e["ts"] + e["dur"]
            while stack and stack[-1] <= e["ts"] + eps and \
                    not (e["dur"] == 0 and stack[-1] >= end - eps):
                stack.pop()
            if stack and end > stack[-1] + eps:
                bad("track %r: %r [%s, %s] overlaps its enclosing slice "
                    "ending at %s" % (key, e["name"], e["ts"], end,
                                      stack[-1]))
            stack.append(end)

    def inside(e):
        for s in tracks.get((e["pid"], e["tid"]), []):
            if s["ts"] - eps <= e["ts"] <= s["ts"] + s["dur"] + eps:
                return True
        return False

    for fid, ends in flows.items():
        if len(ends.get("s", [])) != 1 or len(ends.get("f", [])) != 1:
            bad("flow %r has %d start(s) and %d end(s)" %
                (fid, len(ends.get("s", [])), len(ends.get("f", []))))
            continue
        s, f = ends["s"][0], ends["f"][0]
        if f.get("bp") != "e":
            bad("flow %r end does not bind to the enclosing slice" % fid)
        if not inside(s):
            bad("flow %r starts outside every slice of its track" % fid)
        if not inside(f):
            bad("flow %r ends outside every slice of its track" % fid)
        if (s["pid"]) == f["pid"]:
            bad("flow %r does not cross processes" % fid)
    if not problems:
        print("chrome ok: %d slices on %d tracks, %d flows" %
              (nx, len(tracks), len(flows)))


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "source", "track", "wbr"}
# Elements whose end tag HTML lets one leave out; we never do.
# What fetches something: in a style or script, and as attribute values.
FETCH = re.compile(r"(?i)(https?:|ftp:|//cdn|@import"
                   r"|url\(\s*['\"]?(?!#|data:))")
LINK_ATTRS = {"src", "href", "xlink:href", "action", "poster", "data",
              "srcset", "background", "formaction"}


class Strict(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.tags = {}

    def check_attrs(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            if name in LINK_ATTRS and not value.startswith("#"):
                bad("%r: <%s %s=%r> refers outside the page" %
                    (self.getpos(), tag, name, value))
            if name == "style" and FETCH.search(value):
                bad("%r: <%s style=%r> fetches something" %
                    (self.getpos(), tag, value))
        if tag in ("link", "img", "iframe", "object", "embed", "base"):
            bad("%r: <%s> has no place in a self-contained page" %
                (self.getpos(), tag))

    def handle_data(self, data):
        if self.stack and self.stack[-1][0] in ("style", "script") and \
                FETCH.search(data):
            bad("%r: <%s> fetches something: %r" %
                (self.getpos(), self.stack[-1][0],
                 FETCH.search(data).group(0)))

    def handle_starttag(self, tag, attrs):
        self.check_attrs(tag, attrs)
        # An inline SVG's <title> is the chart's, not the page's.
        if any(t == "svg" for t, _ in self.stack):
            tag = "svg:" + tag
        self.tags[tag] = self.tags.get(tag, 0) + 1
        tag = tag.split(":")[-1]
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        self.check_attrs(tag, attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if tag in VOID:
            bad("end tag of void element </%s> at %r" % (tag, self.getpos()))
            return
        if not self.stack:
            bad("</%s> at %r closes nothing" % (tag, self.getpos()))
            return
        open_tag, pos = self.stack.pop()
        if open_tag != tag:
            bad("</%s> at %r closes <%s> opened at %r" %
                (tag, self.getpos(), open_tag, pos))


def check_html(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.lstrip().lower().startswith("<!doctype html>"):
        bad("no <!DOCTYPE html>")
    p = Strict()
    p.feed(text)
    p.close()
    for tag, pos in p.stack:
        bad("<%s> opened at %r is never closed" % (tag, pos))
    for tag in ("html", "head", "body", "title"):
        if p.tags.get(tag) != 1:
            bad("want one <%s>, found %d" % (tag, p.tags.get(tag, 0)))
    if not problems:
        print("html ok: %d elements, %d <svg>" %
              (sum(p.tags.values()), p.tags.get("svg", 0)))


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []  # Nodes and strings

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def text(self):
        return "".join(c if isinstance(c, str) else c.text()
                       for c in self.children)

    def walk(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def find(self, tag=None, cls=None):
        return [n for n in self.walk()
                if (tag is None or n.tag == tag) and
                (cls is None or cls in n.classes())]

    def inside(self, tag, cls=None):
        n = self.parent
        while n is not None:
            if n.tag == tag and (cls is None or cls in n.classes()):
                return True
            n = n.parent
        return False


class Tree(HTMLParser):
    """A forgiving DOM: void elements close themselves, an end tag closes
    up to its element (chromium's serialisation and ours both nest)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [], None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


MARKUP = re.compile(r"</?(td|tr|th|br|small|strong|span|table)\b", re.I)


def svg_labelled(root, prefix):
    return [s for s in root.find("svg")
            if (s.attrs.get("aria-label") or "").startswith(prefix)]


def check_compare(path, op):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    t = Tree()
    t.feed(text)
    t.close()
    root = t.root
    # The table: real cells, none holding markup as text.
    tables = root.find("table", "cmp")
    if not tables:
        bad("no comparison table (table.cmp)")
    else:
        heads = [th.text().strip().lower() for th in tables[0].find("th")]
        want = ["operation", "base", "head", "change (ci)", "q", "verdict"]
        if heads != want:
            bad("comparison table columns %r, want %r" % (heads, want))
        if not tables[0].inside("div", "scroll"):
            bad("the comparison table is not in an overflow container")
    ncells = 0
    for table in tables:
        for td in table.find("td"):
            ncells += 1
            if MARKUP.search(td.text()) or "&lt;" in td.text():
                bad("a cell shows markup as text: %r" % td.text()[:120])
    for row in (tables[0].find("tr")[1:2] if tables else []):
        if len(row.find("td")) != 6:
            bad("a table row has %d cells, want 6" % len(row.find("td")))
    # Charts: the CDF names base and head; the change chart; drift.
    cdf = svg_labelled(root, "Iteration latency")
    if len(cdf) != 1:
        bad("want one CDF chart, found %d" % len(cdf))
    elif not ("base: run" in cdf[0].text() and "head: run" in cdf[0].text()):
        bad("the CDF's legend does not name base and head")
    change = svg_labelled(root, "The change of each operation")
    if len(change) != 1:
        bad("want one change chart, found %d" % len(change))
    elif op not in change[0].text():
        bad("the change chart does not name %s" % op)
    drift = svg_labelled(root, "Each iteration's duration")
    if len(drift) != 1 or "base: run" not in drift[0].text():
        bad("no drift chart of base and head")
    # The flame graph, inline, with its frames.
    flame = svg_labelled(root, "Differential flame graph")
    if len(flame) != 1:
        bad("want the flame graph inlined once, found %d" % len(flame))
    else:
        frames = [g for g in flame[0].find("g") if "frame" in g.classes()]
        if len(frames) < 5:
            bad("the flame graph has %d frames" % len(frames))
        if not flame[0].inside("figure", "flame"):
            bad("the flame graph is not in its figure")
    h2 = [h.text().strip() for h in root.find("h2")]
    for want in ("What changed", "Where it changed"):
        if want not in h2:
            bad("no section %r (have %r)" % (want, h2))
    # Two waterfalls side by side, each with rows.
    pairs = root.find("div", "pair")
    falls = pairs[0].find("div", "waterfall") if pairs else []
    if len(falls) != 2:
        bad("want two waterfalls side by side, found %d" % len(falls))
    for w in falls:
        if len(w.find("details")) < 3:
            bad("a waterfall has %d rows" % len(w.find("details")))
    # The noise the verdict was judged against, and the gates' words.
    noise = root.find("p", "noise")
    ntext = " ".join(noise[0].text().split()) if noise else ""
    if not ntext.startswith("noise: spread of an operation within a run") \
            or "drift: machine factor (head against base)" not in ntext:
        bad("no noise and drift under the verdict: %r" % ntext[:200])
    gates = root.find("table", "gates")
    if "Gates" not in h2 or not gates:
        bad("no gates section")
    for row in (gates[0].find("tr")[1:] if gates else []):
        cells = [" ".join(td.text().split()) for td in row.find("td")]
        if len(cells) != 3 or cells[1] not in (
                "pass", "FAIL", "inconclusive", "machine"):
            bad("a gate row %r" % cells)
        elif cells[2].endswith("inconclusive") and cells[1] != "inconclusive":
            bad("an inconclusive gate reads %r" % cells[1])
    # The sentence at the top.
    head = root.find("p", "headline")
    line = " ".join(head[0].text().split()) if head else ""
    if not head:
        bad("no headline")
    elif "slower" not in line or op not in line:
        bad("the headline does not say slower and name %s: %r" % (op, line))
    if not problems:
        print("compare ok: %d cells, %d flame frames; headline: %s" %
              (ncells, len(frames) if flame else 0, line))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "compare":
        check_compare(sys.argv[2], sys.argv[3])
        return 1 if problems else 0
    if len(sys.argv) != 3 or sys.argv[1] not in ("chrome", "html"):
        print(__doc__)
        return 2
    {"chrome": check_chrome, "html": check_html}[sys.argv[1]](sys.argv[2])
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
