#!/usr/bin/env python3
"""A call whose body is over the server's limit, made with Python's own xmlrpc.client (which
writes the whole request before reading the answer): it must get the server's fault, not a
broken pipe or a reset connection.

Usage: oversized_call.py URL BYTES
Prints `fault CODE: MESSAGE` and exits 0 on a fault; prints the exception and exits 1 otherwise.
"""

import sys
import xmlrpc.client


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    url, size = sys.argv[1], int(sys.argv[2])
    api = xmlrpc.client.ServerProxy(url, allow_none=True)
    try:
        api.AuthCheck({"AuthMethod": "anonymous"}, "x" * size)
    except xmlrpc.client.Fault as f:
        print(f"fault {f.faultCode}: {f.faultString}")
        return
    except Exception as e:  # noqa: BLE001 - the point is to report whatever it was
        print(f"{type(e).__name__}: {e}")
        sys.exit(1)
    print("no fault")
    sys.exit(1)


if __name__ == "__main__":
    main()
