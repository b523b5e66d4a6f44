"""Counted checks for the Python drivers in this folder (imported by them; Python puts a
script's own folder on sys.path). The Rust tests read the summary line `N passed, 0 failed`."""

PASSED = 0


def check(condition, what):
    """A check that counts; never disabled by `python -O` (unlike a bare assert)."""
    global PASSED
    if not condition:
        raise AssertionError(what)
    PASSED += 1


def eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


def summary():
    """The last line a driver prints: every check raised on failure, so none failed."""
    print("%d passed, 0 failed" % PASSED)
