"""report-check.py: strict checks of what the report writers produce.

  report-check.py chrome FILE   Chrome trace JSON: parses; every X event has
                                ts and dur; events nest on each track; every
                                flow has a start and an end, each inside a
                                slice of its track; every pid and tid named
  report-check.py html FILE     HTML: tags balanced and properly closed,
                                no external URL of any kind

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
URL = re.compile(r"(?i)(https?:|ftp:|//cdn|@import|url\(\s*['\"]?(?!#|data:)"
                 r"|\bsrc\s*=|\bxlink:href\s*=\s*['\"](?!#)"
                 r"|\bhref\s*=\s*['\"](?!#))")


class Strict(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.tags = {}

    def handle_starttag(self, tag, attrs):
        # An inline SVG's <title> is the chart's, not the page's.
        if any(t == "svg" for t, _ in self.stack):
            tag = "svg:" + tag
        self.tags[tag] = self.tags.get(tag, 0) + 1
        tag = tag.split(":")[-1]
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
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
    for m in URL.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        bad("line %d: external reference %r" % (line, m.group(0)))
    for tag in ("html", "head", "body", "title"):
        if p.tags.get(tag) != 1:
            bad("want one <%s>, found %d" % (tag, p.tags.get(tag, 0)))
    if not problems:
        print("html ok: %d elements, %d <svg>" %
              (sum(p.tags.values()), p.tags.get("svg", 0)))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("chrome", "html"):
        print(__doc__)
        return 2
    {"chrome": check_chrome, "html": check_html}[sys.argv[1]](sys.argv[2])
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
