"""Python's xmlrpc.client as a test oracle for the bootmedium-xmlrpc crate.

Reads all of stdin first (so the Rust side can write everything before
reading), one request per line, tab-separated, text fields base64-encoded
UTF-8. Writes one line per request: base64 of a document for the dumps_*
requests, "ok" or "FAIL <why>" for the check_* requests.
"""
import base64
import datetime
import math
import struct
import sys
import xmlrpc.client as x

NAMESPACE = {"x": x, "datetime": datetime}


def text(field):
    return base64.b64decode(field).decode("utf-8")


def encoded(document):
    return base64.b64encode(document.encode("utf-8")).decode("ascii")


def evaluate(field):
    return eval(text(field), NAMESPACE)


def normalised(value):
    """Builtin-type view of what loads() returns, whatever use_builtin_types."""
    if isinstance(value, x.Binary):
        return bytes(value.data)
    if isinstance(value, x.DateTime):
        return datetime.datetime.strptime(value.value, "%Y%m%dT%H:%M:%S")
    if isinstance(value, (list, tuple)):
        return [normalised(item) for item in value]
    if isinstance(value, dict):
        return {key: normalised(item) for key, item in value.items()}
    return value


def same(left, right):
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        return left == right and math.copysign(1, left) == math.copysign(1, right)
    if isinstance(left, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    return left == right


def check_loaded(document, expected_params, expected_method):
    for builtin in (True, False):
        params, method = x.loads(document, use_builtin_types=builtin)
        got = normalised(params)
        if method != expected_method:
            return "FAIL method %r != %r" % (method, expected_method)
        if not same(got, normalised(expected_params)):
            return "FAIL use_builtin_types=%s: %r != %r" % (builtin, got, expected_params)
    return "ok"


def dumps_call(expr):
    return encoded(x.dumps((evaluate(expr),), "M", allow_none=True))


def dumps_calls(exprs):
    return encoded(x.dumps(tuple(evaluate(exprs)), "M", allow_none=True))


def dumps_response(expr):
    return encoded(x.dumps((evaluate(expr),), methodresponse=True, allow_none=True))


def dumps_fault(code, message):
    return encoded(x.dumps(x.Fault(int(code), text(message)), methodresponse=True))


def check_response(expr, document):
    return check_loaded(text(document), [evaluate(expr)], None)


def check_call(exprs, method, document):
    return check_loaded(text(document), evaluate(exprs), text(method))


def check_fault(code, message, document):
    try:
        x.loads(text(document))
    except x.Fault as fault:
        if fault.faultCode == int(code) and fault.faultString == text(message):
            return "ok"
        return "FAIL fault %r %r" % (fault.faultCode, fault.faultString)
    return "FAIL no fault raised"


def check_double(bits, document):
    document = text(document)
    (value,), _ = x.loads(document)
    if struct.pack(">d", value).hex() != bits:
        return "FAIL read %r, expected bits %s" % (value, bits)
    ours = x.dumps((value,), methodresponse=True)
    if ours != document:
        return "FAIL python writes %r" % ours
    return "ok"


HANDLERS = {
    "dumps_call": dumps_call,
    "dumps_calls": dumps_calls,
    "dumps_response": dumps_response,
    "dumps_fault": dumps_fault,
    "check_response": check_response,
    "check_call": check_call,
    "check_fault": check_fault,
    "check_double": check_double,
}


def answer(line):
    mode, *fields = line.split("\t")
    try:
        return HANDLERS[mode](*fields)
    except Exception as error:  # report, don't die: the Rust side shows it
        return "FAIL %s: %r" % (type(error).__name__, error)


def main():
    requests = sys.stdin.read().splitlines()
    sys.stdout.write("".join(answer(line) + "\n" for line in requests))


main()
