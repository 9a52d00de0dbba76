# venvpkg PEP 517 hook runner.
#
#     python runner.py <hook> <dir>
#
# Reads <dir>/input.json:
#     {"backend": "module.path:object.path", "backend_path": [...], "kwargs": {...}}
# imports the build backend (entries of backend_path go first on sys.path,
# and the backend must then come from one of them), calls the hook with the
# keyword arguments and writes <dir>/output.json with exactly one of:
#     {"return_val": <value>}
#     {"hook_missing": true}             the backend does not define the hook
#     {"no_backend": true, "traceback": "..."}   the backend cannot be imported
#     {"backend_invalid": "<why>"}       the backend is not from backend_path
#     {"error": "<traceback>"}           the hook raised
# The working directory is the source tree; the hook's own output goes to
# this process's stdout and stderr, and a traceback is printed there too.
import sys

# The directory of this script is on sys.path; the backend must not see it.
del sys.path[0]

import importlib
import json
import os
import traceback

HOOKS = ("get_requires_for_build_wheel", "build_wheel")


class BackendUnavailable(Exception):
    pass


class BackendInvalid(Exception):
    pass


def inside(path, dirs):
    path = os.path.normcase(os.path.realpath(path))
    for d in dirs:
        d = os.path.normcase(os.path.realpath(d))
        if path == d or path.startswith(d.rstrip(os.sep) + os.sep):
            return True
    return False


def load_backend(spec, backend_path):
    module_name, _, attrs = spec.partition(":")
    if backend_path:
        sys.path[:0] = backend_path
    try:
        obj = importlib.import_module(module_name)
    except ImportError:
        raise BackendUnavailable(traceback.format_exc())
    if backend_path:
        origin = getattr(obj, "__file__", None) or ""
        if not inside(origin, backend_path):
            raise BackendInvalid(
                "backend %r was imported from %r, not from backend-path %r"
                % (module_name, origin, backend_path)
            )
    if attrs:
        for attr in attrs.split("."):
            obj = getattr(obj, attr)
    return obj


def write_output(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)


def main():
    hook, io_dir = sys.argv[1], sys.argv[2]
    if hook not in HOOKS:
        sys.exit("venvpkg hook runner: unknown hook %r" % hook)
    with open(os.path.join(io_dir, "input.json"), encoding="utf-8") as f:
        request = json.load(f)
    out_path = os.path.join(io_dir, "output.json")

    try:
        backend = load_backend(request["backend"], request.get("backend_path") or [])
    except BackendUnavailable as exc:
        sys.stderr.write(exc.args[0])
        write_output(out_path, {"no_backend": True, "traceback": exc.args[0]})
        return 1
    except BackendInvalid as exc:
        write_output(out_path, {"backend_invalid": exc.args[0]})
        return 1

    func = getattr(backend, hook, None)
    if func is None:
        write_output(out_path, {"hook_missing": True})
        return 0
    try:
        result = func(**request.get("kwargs") or {})
    except BaseException:
        tb = traceback.format_exc()
        sys.stdout.flush()
        sys.stderr.write(tb)
        sys.stderr.flush()
        write_output(out_path, {"error": tb})
        return 1
    sys.stdout.flush()
    sys.stderr.flush()
    write_output(out_path, {"return_val": result})
    return 0


sys.exit(main())
