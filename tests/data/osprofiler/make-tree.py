# make-tree.py: turn notifications.jsonl into what `osprofiler trace show
# --json` prints, with the real OSprofiler's report builder (its base
# driver), so that the importer is tested on the genuine tree format.
# Run with Debian's interpreter: /usr/bin/python3 make-tree.py < in > out
import json
import sys

from osprofiler.drivers import base


class FileDriver(base.Driver):
    def __init__(self, notifications):
        super().__init__("file://")
        self.notifications = notifications

    def get_report(self, base_id):
        for n in self.notifications:
            self._append_results(n["trace_id"], n["parent_id"], n["name"],
                                 n.get("project"), n.get("service"),
                                 n["info"].get("host"), n["timestamp"], n)
        return self._parse_results()


notes = [json.loads(line) for line in sys.stdin if line.strip()]
report = FileDriver(notes).get_report(notes[0]["base_id"])
json.dump(report, sys.stdout, indent=2, default=str)
sys.stdout.write("\n")
