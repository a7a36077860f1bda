# run-otlp-service.py: a service traced the OpenTelemetry way, for the
# run-otlp test. Debian ships no OpenTelemetry SDK, so it does what an SDK's
# OTLP/HTTP JSON exporter does, by hand: for each request it continues the
# caller's W3C traceparent with a SERVER span and POSTs it to
# $OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces (before answering, like a
# synchronous span processor), as service $OTEL_SERVICE_NAME.
# Usage: run-otlp-service.py PORT
import http.server
import json
import os
import secrets
import sys
import time
import urllib.request

ENDPOINT = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + "/v1/traces"
SERVICE = os.environ["OTEL_SERVICE_NAME"]


def export(trace_id, parent_id, start, end, path):
    span = {
        "traceId": trace_id,
        "spanId": secrets.token_hex(8),
        "parentSpanId": parent_id,
        "name": "GET " + path,
        "kind": 2,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": [
            {"key": "http.request.method", "value": {"stringValue": "GET"}},
            {"key": "http.route", "value": {"stringValue": path}},
            {"key": "http.response.status_code", "value": {"intValue": "200"}},
        ],
    }
    body = {"resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": SERVICE}}]},
        "scopeSpans": [{"scope": {"name": "run-otlp-service"}, "spans": [span]}],
    }]}
    req = urllib.request.Request(ENDPOINT, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        resp.read()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        start = time.time_ns()
        if self.path == "/healthz":
            self.reply(b'{"status":"ok"}')
            return
        tp = self.headers.get("traceparent", "")
        parts = tp.split("-")
        time.sleep(0.002)
        if len(parts) == 4:
            export(parts[1], parts[2], start, time.time_ns(), self.path)
        self.reply(b'{"hello":"world"}')

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
