#!/usr/bin/env python3
"""One GetBootMedium call made as PLC's tools make it: Python's own xmlrpc.client, password auth,
an inline image decoded with base64.b64decode (as upstream's TestNode does).

Usage: get_boot_medium.py URL ADMIN_EMAIL ADMIN_PASSWORD NODE ACTION FILENAME OUT [OPTION...]
An inline result (empty FILENAME) is decoded into OUT; a file result's path is printed.
"""

import base64
import sys
import xmlrpc.client


def main():
    if len(sys.argv) < 8:
        sys.exit(__doc__)
    url, user, password, node, action, filename, out = sys.argv[1:8]
    options = sys.argv[8:]
    api = xmlrpc.client.ServerProxy(url, allow_none=True)
    auth = {"AuthMethod": "password", "Username": user, "AuthString": password}
    result = api.GetBootMedium(auth, node, action, filename, options)
    if filename:
        print(result)
    else:
        with open(out, "wb") as f:
            f.write(base64.b64decode(result))


if __name__ == "__main__":
    main()
