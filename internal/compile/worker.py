# venvpkg bytecode worker.
#
# Reads requests from stdin, two lines each: the staged source path, then
# the final source path. Writes the .pyc beside the staged source, in
# __pycache__ under the interpreter's cache tag, with code objects naming
# the final path, checked-hash invalidation and no optimisation. Answers
# each request on stdout with "ok\n", or "error <n>\n" followed by n bytes
# of UTF-8 message.
#
# marshal gives an object a back-reference slot when its reference count is
# above one, and whether a string is interned can depend on what the
# process did before, so the bytes of a .pyc depend on the state of the
# process that compiles it. Files are therefore compiled in children forked
# from this loop, which never compiles anything after its warm-up and
# imports nothing beyond what py_compile needs, so every child starts from
# the same state, whatever was compiled before and in whichever worker.
#
# Forking once per file is slow (each child faults in fresh memory for the
# parser), so a child compiles file after file as long as each compile
# leaves the process as it found it: before every file after its first, the
# child collects garbage and compares the number of allocated memory blocks
# with the count it had before its first file. Anything a compile left
# alive (an interned name, a cache entry, a lazily made object) shows up
# there; the child then stops without compiling and the file goes to a
# fresh child. The warm-up runs the one-time lazy initialisation of the
# compiler in this process first, so a child does not die on it.
import sys

# Nothing from the working directory may shadow the modules below.
if sys.path and sys.path[0] in ("", "."):
    del sys.path[0]

import gc
import importlib.util
import os
import py_compile
import struct
import tempfile
import warnings

# The allocated block count the child saw at its last check. It starts as a
# large int so that every check sees exactly one int object held here.
mark = [1 << 40]


def settled():
    """Reports whether the process holds as many allocated blocks as at the
    previous call, after collecting garbage."""
    gc.collect()
    n = sys.getallocatedblocks()
    same = n == mark[0]
    mark[0] = n
    return same


def compile_one(src, dfile):
    cfile = importlib.util.cache_from_source(src, optimization="")
    py_compile.compile(
        src,
        cfile=cfile,
        dfile=dfile,
        doraise=True,
        optimize=0,
        invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
    )


WARM_UP = '''"""Warm-up module."""
import os
X = {"a", "b"}
def f(a, *b, **c):
    return [x for x in b if x]
class C:
    def m(self):
        return lambda: f"{self!r}"
'''


def warm_up():
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "warm.py")
        with open(src, "w") as f:
            f.write(WARM_UP)
        settled()
        for _ in range(10):
            compile_one(src, src)
            if settled():
                break


def read_exact(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def serve_one(rfd, wfd, first):
    """Compiles one request from the parent. Returns False once the child
    must stop: the parent closed the pipe or the last compile left state."""
    if not settled() and not first:
        write_all(wfd, b"R")
        return False
    head = read_exact(rfd, 4)
    if head is None:
        return False
    req = read_exact(rfd, struct.unpack("<I", head)[0])
    src, dfile = req.split(b"\0")
    try:
        compile_one(os.fsdecode(src), os.fsdecode(dfile))
        msg = b""
    except py_compile.PyCompileError as exc:
        msg = exc.msg.strip().encode("utf-8", "backslashreplace")
    except Exception as exc:  # one bad file must not stop the others
        text = "%s: %s" % (type(exc).__name__, exc)
        msg = text.encode("utf-8", "backslashreplace")
    if msg:
        write_all(wfd, b"E" + struct.pack("<I", len(msg)) + msg)
    else:
        write_all(wfd, b"K")
    return True


def child_main(rfd, wfd):
    first = True
    while serve_one(rfd, wfd, first):
        first = False


class Child:
    def __init__(self):
        req_r, self.req_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(self.req_w)
                os.close(self.rep_r)
                child_main(req_r, rep_w)
            finally:
                os._exit(0)
        os.close(req_r)
        os.close(rep_w)

    def close(self):
        """Closes the pipes and reaps the child; returns its wait status."""
        os.close(self.req_w)
        os.close(self.rep_r)
        _, status = os.waitpid(self.pid, 0)
        return status

    def ask(self, src, dfile):
        """Returns (message, alive): message is None when the child stopped
        before compiling, b"" when the file compiled."""
        req = src + b"\0" + dfile
        try:
            write_all(self.req_w, struct.pack("<I", len(req)) + req)
        except BrokenPipeError:
            return None, False
        kind = read_exact(self.rep_r, 1)
        if kind == b"K":
            return b"", True
        if kind == b"E":
            head = read_exact(self.rep_r, 4)
            msg = head and read_exact(self.rep_r, struct.unpack("<I", head)[0])
            if msg is not None:
                return msg or b"not compiled", True
        if kind == b"R":
            return None, False
        status = self.close()
        self.pid = None
        return b"the compiling process died (wait status %d)" % status, False


def compile_request(child, src, dfile):
    """Compiles one file in child or, when it cannot take it, in fresh
    children; returns the message and the child to use next."""
    for _ in range(2):
        if child is None:
            child = Child()
        msg, alive = child.ask(src, dfile)
        if not alive:
            if child.pid is not None:
                child.close()
            child = None
        if msg is not None:
            return msg, child
    return b"no child could compile the file", child


def main():
    warnings.simplefilter("ignore")
    warm_up()
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    child = None
    while True:
        src = stdin.readline()
        dfile = stdin.readline()
        if not dfile:
            break
        msg, child = compile_request(child, src.rstrip(b"\n"), dfile.rstrip(b"\n"))
        if msg:
            stdout.write(b"error %d\n" % len(msg) + msg)
        else:
            stdout.write(b"ok\n")
        stdout.flush()
    if child is not None:
        child.close()


main()
