#!/usr/bin/python3
"""flame-check.py: check the differential flame graph of flame-refstack.sh.

usage: flame-check.py FILE.svg [--dump]

What does not depend on the machine's speed, exit 1 on the first that
fails: the SVG must parse as XML and be self-contained (no script, no
external reference); every frame must have a rect and a title naming its
times; there is a scheduler.select_destinations frame, which the head
slowed by a 30ms sleep, so its head time per call is 30ms or more, and
it has ancestors up to the step that contain it.

What does (measured times of two runs on a shared machine), exit 2 with
every one that failed, for the caller to retry with a new pair of runs:
the slow frame saturated red with about +30ms in its title; its ancestors
grew by about as much; the frames beside its path (neither ancestors nor
descendants) that take a visible share of the iteration near neutral.
Prints one line per check that passed.
"""
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
RED = "#e03c2c"
SLOW_NAME = "scheduler.select_destinations"
SLOW_NS = 30e6


def fail(msg, code=1):
    print("FAIL " + msg)
    sys.exit(code)


def main():
    path = sys.argv[1]
    dump = "--dump" in sys.argv[2:]
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        fail("not well-formed XML: %s" % e)
    if root.tag != NS + "svg":
        fail("root element is %s, not svg" % root.tag)
    print("well-formed SVG")

    for el in root.iter():
        tag = el.tag.replace(NS, "")
        if tag in ("script", "image", "foreignObject", "use", "a"):
            fail("element <%s> in a self-contained SVG" % tag)
        for k, v in el.attrib.items():
            if "href" in k or re.search(r"url\((?!#)", v) or \
                    re.match(r"\s*(https?|file|data):", v):
                fail("external reference %s=%r" % (k, v))
        if tag == "style" and ("@import" in (el.text or "") or
                               re.search(r"url\((?!#)", el.text or "")):
            fail("external reference in <style>")
    print("self-contained: no script, no external reference")

    frames = []
    for g in root.iter(NS + "g"):
        if not g.get("class", "").startswith("frame"):
            continue
        rect = g.find(NS + "rect")
        title = g.find(NS + "title")
        if rect is None or title is None:
            fail("a frame without rect or title: %r" % g.attrib)
        fr = {
            "name": g.get("data-name"),
            "service": g.get("data-service"),
            "kind": g.get("data-kind"),
            "depth": int(g.get("data-depth")),
            "base": float(g.get("data-base-ns")),
            "head": float(g.get("data-head-ns")),
            "x": float(rect.get("x")),
            "w": float(rect.get("width")),
            "fill": rect.get("fill"),
            "title": title.text,
            "cls": g.get("class"),
        }
        m = re.search(r"calls per iteration: base ([0-9.]+) \u2192 head "
                      r"([0-9.]+)", fr["title"])
        if not m:
            fail("no calls per iteration in %r" % fr["title"])
        fr["calls"] = (float(m.group(1)), float(m.group(2)))
        want = "%s %s %s: base " % (fr["service"], fr["kind"], fr["name"])
        if not fr["title"].startswith(want) or "\u2192 head" not in \
                fr["title"]:
            fail("title %r does not start %r" % (fr["title"], want))
        frames.append(fr)
        if dump:
            print("  %-2d %-10s %-14s %-40s %9.3f %9.3f %s %s" % (
                fr["depth"], fr["service"], fr["kind"], fr["name"][:40],
                fr["base"] / 1e6, fr["head"] / 1e6, fr["fill"], fr["cls"]))
    if len(frames) < 20:
        fail("only %d frames" % len(frames))
    print("%d frames, each with a rect and a title" % len(frames))

    slow = [f for f in frames if f["name"] == SLOW_NAME]
    if not slow:
        fail("no %s frame" % SLOW_NAME)
    # The knob sleeps 30ms in each call, which the outermost of its
    # frames (the caller's) holds: a floor, however busy the machine.
    s = min(slow, key=lambda f: f["depth"])
    if s["calls"][1] < 1 or s["head"] < SLOW_NS * s["calls"][1]:
        fail("%s takes %.1fms a call in the head, under the 30ms it "
             "sleeps: %s" % (SLOW_NAME, s["head"] / 1e6 /
                             max(s["calls"][1], 1), s["title"]))
    print("%s: the head sleeps its 30ms a call" % SLOW_NAME)

    def contains(a, b):
        return a["x"] - 0.01 <= b["x"] and \
            b["x"] + b["w"] <= a["x"] + a["w"] + 0.01

    top = max(frames, key=lambda f: f["head"])
    on_path = []
    for f in frames:
        for s in slow:
            if (f["depth"] < s["depth"] and contains(f, s)) or \
                    (f["depth"] >= s["depth"] and contains(s, f)):
                on_path.append(f)
                break
    ancestors = [f for f in on_path if 1 <= f["depth"] < slow[0]["depth"]]
    if len(ancestors) < 3:
        fail("only %d ancestors of %s" % (len(ancestors), SLOW_NAME))
    print("%d ancestors up to the step: %s" % (
        len(ancestors), ", ".join(f["name"] for f in ancestors)))

    # From here on, measured times of the two runs: what fails is
    # gathered, and exit 2 asks for another pair.
    moved = []
    for s in slow:
        grew = s["head"] - s["base"]
        if s["fill"] != RED:
            moved.append("%s is %s, not red: %s" % (SLOW_NAME, s["fill"],
                                                   s["title"]))
        if not 0.8 * SLOW_NS <= grew <= 3 * SLOW_NS:
            moved.append("%s grew %.1fms, want about 30ms: %s" % (
                SLOW_NAME, grew / 1e6, s["title"]))
        m = re.search(r"\(\+(\d+\.\d)%\)", s["title"])
        if not m or float(m.group(1)) < 50:
            moved.append("title of %s has no change above +50%%: %s" % (
                SLOW_NAME, s["title"]))
    if not moved:
        print("%s is red, +%.1fms: %s" % (
            SLOW_NAME, (slow[0]["head"] - slow[0]["base"]) / 1e6,
            slow[0]["title"].splitlines()[0]))
    # Ancestors up to the step grew by the same 30ms (the iteration need
    # not: the build that it waits for runs beside the call).
    grown = len(moved)
    for f in ancestors:
        if f["head"] - f["base"] < 0.6 * SLOW_NS or f["fill"] != RED:
            moved.append("ancestor %s grew only %.1fms (%s)" % (
                f["name"], (f["head"] - f["base"]) / 1e6, f["fill"]))
    if len(moved) == grown:
        print("%d ancestors grew as much" % len(ancestors))
    # Beside the path, frames of at least 5% of the iteration (smaller
    # ones are noise under sanitizers) are near neutral: none only in one
    # run, none changed by half or more, most within 35%, and the slow
    # frame's change at least three times the largest of theirs. The wait
    # for ACTIVE polls as often as the server takes: there the time per
    # call is compared. On a shared machine the load changes between
    # runs, which a frame of a few milliseconds feels, hence no tighter.
    beside = [f for f in frames if f not in on_path and
              f["head"] >= 0.05 * top["head"]]
    if len(beside) < 3:
        moved.append("only %d frames of note beside the slow path" %
                     len(beside))
        beside = []
    wait = [f for f in frames if f["name"] == "wait-active"]
    far, rels = [], []
    for f in beside:
        base, head = f["base"], f["head"]
        if any(w["depth"] < f["depth"] and contains(w, f) for w in wait):
            if not f["calls"][0] or not f["calls"][1]:
                fail("%s: no calls on one side" % f["name"])
            base /= f["calls"][0]
            head /= f["calls"][1]
        rel = (head - base) / base if base else 1
        rels.append(abs(rel))
        if abs(rel) >= 0.5 or f["cls"] != "frame":
            far.append("%s %s %+.0f%% (%s)" % (
                f["service"], f["name"], rel * 100, f["cls"]))
    slow_rel = min((s["head"] - s["base"]) / s["base"] if s["base"] else 1
                   for s in slow)
    close = sum(1 for r in rels if r <= 0.35)
    grown = len(moved)
    if far:
        moved.append("frames beside the slow path changed: " +
                     ", ".join(far))
    if close * 2 < len(beside):
        moved.append("only %d of %d frames beside the slow path within "
                     "35%%" % (close, len(beside)))
    if rels and slow_rel < 3 * max(rels):
        moved.append("%s (%+.0f%%) does not stand out: a frame beside it "
                     "%+.0f%%" % (SLOW_NAME, slow_rel * 100,
                                  max(rels) * 100))
    if beside and len(moved) == grown:
        print("%d frames beside the slow path near neutral (%d within "
              "35%%, all within 50%%): %s" % (
                  len(beside), close,
                  ", ".join(sorted(set(f["name"] for f in beside)))))
    if moved:
        for m in moved:
            print("MOVED " + m)
        sys.exit(2)

if __name__ == "__main__":
    main()
