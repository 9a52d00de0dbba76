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
# process that compiles it. Each file is therefore compiled in a child
# forked from this loop, which never compiles anything itself and imports
# nothing beyond what py_compile needs, so every file starts from the same
# state, whatever was compiled before and in whichever worker.
import sys

# Nothing from the working directory may shadow the modules below.
if sys.path and sys.path[0] in ("", "."):
    del sys.path[0]

import importlib.util
import os
import py_compile
import warnings


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


def child(src, dfile, w):
    try:
        compile_one(src, dfile)
        msg = b""
    except py_compile.PyCompileError as exc:
        msg = exc.msg.strip().encode("utf-8", "backslashreplace")
    except Exception as exc:  # one bad file must not stop the others
        text = "%s: %s" % (type(exc).__name__, exc)
        msg = text.encode("utf-8", "backslashreplace")
    data = b"E" + msg if msg else b"K"
    while data:
        data = data[os.write(w, data):]


def compile_in_child(src, dfile):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            child(src, dfile, w)
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    if data == b"K":
        return b""
    if data[:1] == b"E":
        return data[1:] or b"not compiled"
    return b"the compiling process died (wait status %d)" % status


def main():
    warnings.simplefilter("ignore")
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    while True:
        src = stdin.readline()
        dfile = stdin.readline()
        if not dfile:
            break
        msg = compile_in_child(os.fsdecode(src.rstrip(b"\n")), os.fsdecode(dfile.rstrip(b"\n")))
        if msg:
            stdout.write(b"error %d\n" % len(msg) + msg)
        else:
            stdout.write(b"ok\n")
        stdout.flush()


main()
