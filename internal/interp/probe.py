# Reports facts about the running Python interpreter as one JSON object on
# stdout, for venvpkg's internal/interp. Written to run on every CPython from
# 2.7 on (so that old interpreters get a clear error rather than a syntax
# error) and to import nothing outside the standard library.
from __future__ import print_function

import json
import os
import platform
import re
import struct
import subprocess
import sys
import sysconfig


def config_var(name):
    return sysconfig.get_config_var(name)


def implementation_name():
    impl = getattr(sys, "implementation", None)
    if impl is not None:
        return impl.name
    return platform.python_implementation().lower()


def format_version(info):
    # PEP 508's implementation_version: "3.11.2", "3.13.0rc1".
    version = "%d.%d.%d" % (info[0], info[1], info[2])
    if info[3] != "final":
        version += info[3][0] + str(info[4])
    return version


def implementation_version():
    impl = getattr(sys, "implementation", None)
    if impl is not None:
        return format_version(impl.version)
    return format_version(sys.version_info)


def glibc_version():
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, OSError, ValueError):
        return ""
    if not value:
        return ""
    parts = value.split()
    if len(parts) != 2 or parts[0] != "glibc":
        return ""
    return parts[1]


def elf_interpreter(path):
    # The PT_INTERP entry of an ELF executable: its dynamic loader.
    try:
        with open(path, "rb") as f:
            header = bytearray(f.read(64))
            if len(header) < 64 or header[:4] != b"\x7fELF":
                return ""
            bits = header[4]
            order = "<" if header[5] == 1 else ">"
            if bits == 1:
                phoff = struct.unpack(order + "I", bytes(header[28:32]))[0]
                phentsize, phnum = struct.unpack(order + "HH", bytes(header[42:46]))
            elif bits == 2:
                phoff = struct.unpack(order + "Q", bytes(header[32:40]))[0]
                phentsize, phnum = struct.unpack(order + "HH", bytes(header[54:58]))
            else:
                return ""
            for i in range(phnum):
                f.seek(phoff + i * phentsize)
                entry = f.read(phentsize)
                if struct.unpack(order + "I", entry[:4])[0] != 3:  # PT_INTERP
                    continue
                if bits == 1:
                    offset, _, _, size = struct.unpack(order + "IIII", entry[4:20])
                else:
                    offset, _, _, size = struct.unpack(order + "QQQQ", entry[8:40])
                f.seek(offset)
                return f.read(size).rstrip(b"\x00").decode("ascii", "replace")
    except (IOError, OSError, struct.error):
        return ""
    return ""


def musl_version():
    # musl's loader prints its version on stderr when run without arguments.
    loader = elf_interpreter(sys.executable)
    if "musl" not in os.path.basename(loader):
        return ""
    try:
        proc = subprocess.Popen([loader], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, err = proc.communicate()
    except OSError:
        return ""
    match = re.search(r"Version (\d+)\.(\d+)", err.decode("utf-8", "replace"))
    if not match:
        return ""
    return match.group(1) + "." + match.group(2)


def markers():
    # Every PEP 508 environment marker variable.
    full = platform.python_version()
    return {
        "implementation_name": implementation_name(),
        "implementation_version": implementation_version(),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_python_implementation": platform.python_implementation(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": full,
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def main():
    impl = getattr(sys, "implementation", None)
    info = {
        "implementation": implementation_name(),
        "version": platform.python_version(),
        "version_info": list(sys.version_info[:3]),
        "abiflags": getattr(sys, "abiflags", ""),
        "soabi": config_var("SOABI") or "",
        "ext_suffix": config_var("EXT_SUFFIX") or "",
        "cache_tag": (impl.cache_tag if impl is not None else "") or "",
        "platform": sysconfig.get_platform(),
        "machine": platform.machine(),
        "platlibdir": getattr(sys, "platlibdir", "lib"),
        "glibc": glibc_version(),
        "musl": musl_version(),
        "gil_disabled": bool(config_var("Py_GIL_DISABLED")),
        "debug": bool(config_var("Py_DEBUG")) or hasattr(sys, "gettotalrefcount"),
        "pymalloc": bool(config_var("WITH_PYMALLOC")),
        "is_32bit": sys.maxsize <= 2 ** 32,
        "executable": sys.executable,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "stdlib": sysconfig.get_path("stdlib"),
        "markers": markers(),
    }
    json.dump(info, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
