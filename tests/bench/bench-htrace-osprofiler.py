"""bench-htrace-osprofiler.py: osprofiler's start/stop of one trace point
with the same fields, collected in memory, as the Python reference for
libhtrace's span cost. Prints "osprofiler_ns <median ns>".
Run with /usr/bin/python3 (Debian's python3-osprofiler)."""
import time

from osprofiler import notifier, profiler

events = []
notifier.set(events.append)
profiler.init("bench-key", base_id="8c4a2f3e-2a1b-4c5d-9e8f-001122334455",
              parent_id="8c4a2f3e-2a1b-4c5d-9e8f-5544332211aa")
p = profiler.get()
info = {"db.system.name": "sqlite", "db.response.returned_rows": 0}

BATCH, BATCHES = 1000, 100
per = []
for _ in range(BATCHES):
    t0 = time.perf_counter_ns()
    for i in range(BATCH):
        info["db.response.returned_rows"] = i
        p.start("db", info=info)
        p.stop()
    per.append((time.perf_counter_ns() - t0) / BATCH)
    events.clear()
per.sort()
print("osprofiler_ns %.1f" % per[len(per) // 2])
