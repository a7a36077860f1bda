# osprofiler-app.py: a small WSGI app traced by the real OSprofiler (the
# Debian python3-osprofiler): WsgiMiddleware with HMAC key SECRET_KEY, an
# inner traced db operation and a traced function, and a notifier that
# appends every notification as one JSON line to NOTIFICATIONS.
# Usage: /usr/bin/python3 osprofiler-app.py NOTIFICATIONS
# Listens on 127.0.0.1, port chosen by the system, and prints "port N".
import json
import sys
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

from osprofiler import notifier, profiler, web

out_path = sys.argv[1]


def notify(info):
    # What OSprofiler's drivers add to each notification.
    info = dict(info, project="harness-test", service="osprofiler-app")
    with open(out_path, "a") as f:
        f.write(json.dumps(info) + "\n")


notifier.set(notify)


@profiler.trace("compute")
def schedule():
    time.sleep(0.002)
    return "host-1"


def app(environ, start_response):
    with profiler.Trace("db", info={"db": {
            "statement": "SELECT * FROM servers WHERE id = ?",
            "params": [1]}}):
        time.sleep(0.003)
    host = schedule()
    body = json.dumps({"server": {"host": host}}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


traced = web.WsgiMiddleware(app, hmac_keys="SECRET_KEY", enabled=True)
server = make_server("127.0.0.1", 0, traced, handler_class=QuietHandler)
print("port %d" % server.server_port, flush=True)
server.serve_forever()
