"""htrace-osp.py: libhtrace and Debian's python3-osprofiler accept each
other's signed trace headers. Run with /usr/bin/python3.

Usage: htrace-osp.py <htrace-osp binary>
"""
import subprocess
import sys
import uuid

try:
    from osprofiler import _utils as utils
except ImportError:
    from osprofiler import utils

HELPER = sys.argv[1]


def run(*args):
    p = subprocess.run([HELPER, *args], capture_output=True, text=True)
    return p.returncode, p.stdout.split("\n")


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


# 1. libhtrace signs; osprofiler verifies and maps the ids back.
code, out = run("sign", "secret-1,secret-0")
check(code == 0, "htrace-osp sign runs")
info, mac, ids = out[0], out[1], out[2].split()
data = utils.signed_unpack(info, mac, ["secret-1"])
check(data is not None, "osprofiler accepts libhtrace's signature")
check(uuid.UUID(data["base_id"]).hex == ids[0],
      "base_id is the trace id")
check("%016x" % (uuid.UUID(data["parent_id"]).int & (2**64 - 1)) == ids[1],
      "parent_id's low 64 bits are the span id")
check(set(data) == {"base_id", "parent_id", "hmac_key"},
      "only base_id and parent_id are sent")
check(utils.signed_unpack(info, mac, ["secret-0"]) is None,
      "osprofiler rejects it under the second (non-signing) key")

# 2. osprofiler signs; libhtrace verifies.
base, parent = str(uuid.uuid4()), str(uuid.uuid4())
pinfo, pmac = utils.signed_pack({"base_id": base, "parent_id": parent},
                                "secret-0")
pinfo = pinfo.decode()
code, out = run("verify", "secret-1,secret-0", pinfo, pmac)
check(code == 0, "libhtrace accepts osprofiler's signature "
      "(second key of two): %s" % out[0])
_, trace, span = out[0].split()
check(trace == uuid.UUID(base).hex, "trace id is base_id")
check(span == "%016x" % (uuid.UUID(parent).int & (2**64 - 1)),
      "span id is parent_id's low 64 bits")

code, out = run("verify", "secret-1", pinfo, pmac)
check(code == 1 and out[0] == "forged",
      "libhtrace rejects it without the key")
bad = pmac[:-1] + ("0" if pmac[-1] != "0" else "1")
code, out = run("verify", "secret-0", pinfo, bad)
check(code == 1 and out[0] == "forged", "a changed HMAC is forged")

# A JSON body osprofiler's middleware would reject (extra key), signed.
xinfo, xmac = utils.signed_pack({"base_id": base, "parent_id": parent,
                                 "x": "y"}, "secret-0")
code, out = run("verify", "secret-0", xinfo.decode(), xmac)
check(code == 1 and out[0] == "malformed", "extra keys are malformed")
print("htrace-osp: compatible with osprofiler")
