# osprofiler-app.py: a small WSGI app traced by the real OSprofiler (the
# Debian python3-osprofiler): WsgiMiddleware with HMAC key SECRET_KEY, an
# inner traced db operation and a traced function ("compute", an op
# harness has no kind for).
#
# Usage: /usr/bin/python3 osprofiler-app.py NOTIFICATIONS
#   a notifier appends every notification as one JSON line to
#   NOTIFICATIONS; listens on 127.0.0.1, port chosen by the system, and
#   prints "port N".
# Usage: /usr/bin/python3 osprofiler-app.py --redis URL --port N [--service S]
#   OSprofiler's own redis driver (notifier.create) stores the
#   notifications at URL, as an OpenStack service with [profiler]
#   connection_string = URL does; each request also makes an RPC call and
#   an RPC cast as nova does (a client point in an "rpcapi" module, the
#   server's dispatch on another thread, joined to the trace the way
#   nova's context serializer does it). Serves /healthz untraced.
import json
import sys
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

from osprofiler import notifier, profiler, web

redis_url = None
port = 0
service = "osprofiler-app"
args = sys.argv[1:]
if args and args[0] == "--redis":
    while args:
        opt, val = args[0], args[1]
        args = args[2:]
        if opt == "--redis":
            redis_url = val
        elif opt == "--port":
            port = int(val)
        elif opt == "--service":
            service = val
        else:
            sys.exit("unknown option " + opt)
    # As an OpenStack service sets up its [profiler] section.
    from oslo_config import cfg
    from osprofiler import opts
    opts.set_defaults(cfg.CONF, enabled=True, hmac_keys="SECRET_KEY",
                      connection_string=redis_url)
    notifier.set(notifier.create(redis_url, project="harness-test",
                                 service=service, host="node-1",
                                 conf=cfg.CONF))
else:
    out_path = args[0]

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


def dispatch(base_id, parent_id, function, seconds):
    # The server side of an RPC: a new thread joins the trace.
    profiler.init("SECRET_KEY", base_id=base_id, parent_id=parent_id)
    with profiler.Trace("rpc", info={"function": {"name": function}}):
        time.sleep(seconds)
    profiler.clean()


def rpc(method, wait):
    # The client side: nova.compute.rpcapi.ComputeAPI.<method>. A call
    # waits for the dispatch; a cast returns while it still runs.
    p = profiler.get()
    with profiler.Trace("rpc", info={"function": {
            "name": "nova.compute.rpcapi.ComputeAPI." + method}}):
        t = threading.Thread(target=dispatch, args=(
            p.get_base_id(), p.get_id(),
            "nova.compute.manager.ComputeManager." + method,
            0.003 if wait else 0.02))
        t.start()
        if wait:
            t.join()
    return t


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/healthz":
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]
    with profiler.Trace("db", info={"db": {
            "statement": "SELECT * FROM servers WHERE id = ?",
            "params": [1]}}):
        time.sleep(0.003)
    host = schedule()
    if redis_url and profiler.get():
        rpc("get_host_uptime", True)
        rpc("build_and_run_instance", False).join()
    body = json.dumps({"server": {"host": host}}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


traced = web.WsgiMiddleware(app, hmac_keys="SECRET_KEY", enabled=True)
server = make_server("127.0.0.1", port, traced, handler_class=QuietHandler)
print("port %d" % server.server_port, flush=True)
server.serve_forever()
