#!/usr/bin/env python3
"""PLCAPI over HTTPS as PLC's Python tools call it: xmlrpc.client.ServerProxy with an SSL context
that trusts one CA file (ssl.create_default_context(cafile=CA): certificate chain and host name
checked, TLS 1.2 or later).

Usage: https_call.py URL CA_FILE ADMIN_EMAIL ADMIN_PASSWORD
Prints one JSON line: AuthCheck's result and the admin's GetPersons row. A certificate that
does not verify prints the SSL error on stderr and exits 2.
"""

import json
import ssl
import sys
import xmlrpc.client


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    url, cafile, user, password = sys.argv[1:5]
    context = ssl.create_default_context(cafile=cafile)
    api = xmlrpc.client.ServerProxy(url, allow_none=True, context=context)
    auth = {"AuthMethod": "password", "Username": user, "AuthString": password}
    try:
        check = api.AuthCheck(auth)
        persons = api.GetPersons(auth, [user], ["email", "roles"])
    except ssl.SSLCertVerificationError as e:
        print(f"certificate refused: {e}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps({"AuthCheck": check, "persons": persons}))


if __name__ == "__main__":
    main()
