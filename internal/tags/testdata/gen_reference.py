"""Write reference tag lists computed by the packaging library.

Usage: python3 gen_reference.py PATH_TO_PACKAGING_SRC > reference.json

For each case below the script stubs out what packaging would read from the
running interpreter (glibc and musl versions, sysconfig platform, config
variables) and records what packaging.tags.sys_tags() would yield on such an
interpreter: cpython_tags() followed by compatible_tags() over the Linux
platform list. tags_test.go compares tags.Generate against the result.
"""

import json
import sys

sys.path.insert(0, sys.argv[1])

import sysconfig  # noqa: E402

import packaging  # noqa: E402
from packaging import _manylinux, _musllinux, tags  # noqa: E402

CASES = [
    # name, (major, minor), config vars, sysconfig platform, 32-bit, glibc, musl
    ("cp311-x86_64-glibc2.36", (3, 11), {}, "linux-x86_64", False, (2, 36), None),
    ("cp38-x86_64-glibc2.28", (3, 8), {}, "linux-x86_64", False, (2, 28), None),
    ("cp36m-x86_64-glibc2.17", (3, 6), {"WITH_PYMALLOC": 1}, "linux-x86_64", False, (2, 17), None),
    ("cp312d-aarch64-glibc2.31", (3, 12), {"Py_DEBUG": 1}, "linux-aarch64", False, (2, 31), None),
    ("cp313-x86_64-glibc2.36", (3, 13), {}, "linux-x86_64", False, (2, 36), None),
    ("cp313t-x86_64-glibc2.36", (3, 13), {"Py_GIL_DISABLED": 1}, "linux-x86_64", False, (2, 36), None),
    ("cp314td-aarch64-glibc2.39", (3, 14), {"Py_GIL_DISABLED": 1, "Py_DEBUG": 1}, "linux-aarch64", False, (2, 39), None),
    ("cp312-x86_64-musl1.2", (3, 12), {}, "linux-x86_64", False, None, (1, 2)),
    ("cp311-i686-glibc2.36", (3, 11), {}, "linux-x86_64", True, (2, 36), None),
    ("cp310-armv8l-glibc2.31", (3, 10), {}, "linux-aarch64", True, (2, 31), None),
    ("cp313-riscv64-glibc2.39", (3, 13), {}, "linux-riscv64", False, (2, 39), None),
    ("cp311-mips64-glibc2.36", (3, 11), {}, "linux-mips64", False, (2, 36), None),
]


def main():
    out = {"packaging": packaging.__version__, "cases": []}
    real_platform = sysconfig.get_platform
    for name, version, config, plat, is32, glibc, musl in CASES:
        tags._get_config_var = lambda var, warn=False, c=config: c.get(var, 0)
        sysconfig.get_platform = lambda p=plat: p
        _manylinux._get_glibc_version = lambda g=glibc: g or (-1, -1)
        _manylinux._have_compatible_abi = lambda executable, archs: any(
            a in _manylinux._ALLOWED_ARCHS or a in ("i686", "armv7l") for a in archs
        )
        _musllinux._get_musl_version = lambda executable, m=musl: (
            _musllinux._MuslVersion(*m) if m else None
        )
        platforms = list(tags._linux_platforms(is_32bit=is32))
        interp = "cp%d%d" % version
        got = list(tags.cpython_tags(python_version=version, platforms=platforms))
        got += list(tags.compatible_tags(python_version=version, interpreter=interp, platforms=platforms))
        out["cases"].append({"name": name, "platforms": platforms, "tags": [str(t) for t in got]})
    sysconfig.get_platform = real_platform
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


main()
