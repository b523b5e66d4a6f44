#!/usr/bin/python3
"""A real SMTP server (Debian's python3-aiosmtpd) for the mail delivery tests.

Listens on 127.0.0.1 on a free port, prints "PORT <n>" on stdout once it accepts connections,
and stores every accepted message in OUTDIR as <n>.json: {"mail_from", "rcpt_tos", "data" (as
received), "headers" and "body" (decoded by Python's email package)}.
Every MAIL command is counted in OUTDIR/attempts (one line per transaction), so a test can
tell retries from deliveries.

  smtp_sink.py OUTDIR [--refuse] [--defer N] [--slow SECONDS --slow-count N]
                      [--tls CERT KEY] [--auth USER:PASSWORD]

--refuse      answer every DATA with 550 (a permanent refusal)
--defer N     answer the first N DATA with 451 (a transient refusal), then accept
--slow S      sleep S seconds before answering the first --slow-count MAIL commands (default 1)
--tls         offer STARTTLS with this certificate and key, and require it
--auth        require AUTH PLAIN/LOGIN with these credentials (after STARTTLS)
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl
import warnings

from aiosmtpd.smtp import SMTP, AuthResult

# aiosmtpd warns about its own use of a deprecated attribute; the tests read stderr.
warnings.simplefilter("ignore", DeprecationWarning)


class Handler:
    def __init__(self, args):
        self.args = args
        self.out = args.outdir
        self.deferred = 0
        self.slowed = 0
        self.stored = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with open(os.path.join(self.out, "attempts"), "a") as f:
            f.write(address + "\n")
        if self.args.slow and self.slowed < self.args.slow_count:
            self.slowed += 1
            await asyncio.sleep(self.args.slow)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.args.refuse:
            return "550 5.7.1 refused by the test relay"
        if self.deferred < self.args.defer:
            self.deferred += 1
            return "451 4.3.0 the test relay is busy, try again later"
        self.stored += 1
        # Python's own mail parser decodes what a mail reader would show (encoded words,
        # quoted-printable or base64 bodies): an independent check of our encoding.
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.original_content.decode("ascii", "replace"),
            "headers": {k.lower(): str(v) for k, v in parsed.items()},
            "content_type": parsed.get_content_type(),
            "charset": parsed.get_content_charset(),
            "body": parsed.get_content(),
        }
        path = os.path.join(self.out, "%d.json" % self.stored)
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 stored"


def authenticator(expected):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode() + ":" + auth_data.password.decode()) == expected
        if ok:
            with open(os.path.join(server.event_handler.out, "auth"), "a") as f:
                f.write(auth_data.login.decode() + "\n")
        return AuthResult(success=ok)

    return check


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("outdir")
    p.add_argument("--refuse", action="store_true")
    p.add_argument("--defer", type=int, default=0)
    p.add_argument("--slow", type=float, default=0)
    p.add_argument("--slow-count", type=int, default=1)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth")
    args = p.parse_args()
    handler = Handler(args)
    tls = None
    if args.tls:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls[0], args.tls[1])

    def factory():
        kwargs = {}
        if tls:
            kwargs.update(tls_context=tls, require_starttls=True)
        if args.auth:
            kwargs.update(authenticator=authenticator(args.auth), auth_required=True, auth_require_tls=bool(tls))
        return SMTP(handler, enable_SMTPUTF8=True, **kwargs)

    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    # Runs until the test kills it.
    await asyncio.Event().wait()


asyncio.run(main())
