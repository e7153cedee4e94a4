"""A sandbox like systemd's SystemCallFilter=, for tests: Python processes that some system calls fail in.

`sandbox_env` adds a `sitecustomize` to PYTHONPATH that installs a seccomp filter at
interpreter start, the way systemd installs one before ExecStart=: every process of
`mailfeed serve` (the forkserver, the processor and its pool) runs under it, as they
inherit it. The filter refuses the named calls with EPERM, as the units'
`SystemCallErrorNumber=EPERM` does, or kills the process with SIGSYS, as systemd does
without that line. It is built by hand (classic BPF through prctl via ctypes): no
library needed.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# (AUDIT_ARCH_…, {system call: number}) of the architectures the suite runs on
ARCHES = {
    "x86_64": (0xC000003E, {"setpriority": 141, "sched_setscheduler": 144}),
    "aarch64": (0xC00000B7, {"setpriority": 140, "sched_setscheduler": 119}),
}
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_KILL_PROCESS = 0x80000000
EPERM = 1

SITECUSTOMIZE = """
# written by tests/seccomp.py: refuse {calls} in this process and every one it starts
import ctypes, resource, struct, sys

def _install():
    LD_W_ABS, JEQ_K, RET_K = 0x20, 0x15, 0x06
    op = lambda code, k, jt=0, jf=0: struct.pack("HBBI", code, jt, jf, k)
    numbers = {numbers!r}
    prog = [op(LD_W_ABS, 4), op(JEQ_K, {arch}, 0, 1 + 2 * len(numbers)), op(LD_W_ABS, 0)]
    for nr in numbers:
        prog += [op(JEQ_K, nr, 0, 1), op(RET_K, {action})]
    prog.append(op(RET_K, {allow}))
    code = ctypes.create_string_buffer(b"".join(prog))

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Prog(len(prog), ctypes.addressof(code))
    libc = ctypes.CDLL(None, use_errno=True)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGSYS dumps core by default
    # PR_SET_NO_NEW_PRIVS, then PR_SET_SECCOMP with SECCOMP_MODE_FILTER
    if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:
        sys.stderr.write("tests/seccomp.py: cannot install the filter (errno %d)\\n" % ctypes.get_errno())
        sys.exit(77)

_install()
"""


def sandbox_env(env: dict[str, str], where: Path, *calls: str, kill: bool = False) -> dict[str, str]:
    """`env` with PYTHONPATH leading to a sitecustomize that refuses `calls` (EPERM, or SIGSYS if `kill`).

    Skips the test where this machine's architecture is not in ARCHES or its kernel
    refuses seccomp filters, saying which.
    """
    machine = platform.machine()
    if machine not in ARCHES:
        pytest.skip(f"no system call numbers for {machine} in tests/seccomp.py")
    arch, numbers = ARCHES[machine]
    where.mkdir(parents=True, exist_ok=True)
    (where / "sitecustomize.py").write_text(
        SITECUSTOMIZE.format(
            calls=", ".join(calls),
            numbers=[numbers[c] for c in calls],
            arch=arch,
            action=SECCOMP_RET_KILL_PROCESS if kill else SECCOMP_RET_ERRNO | EPERM,
            allow=SECCOMP_RET_ALLOW,
        )
    )
    out = {**env, "PYTHONPATH": os.pathsep.join(p for p in (str(where), env.get("PYTHONPATH", "")) if p)}
    probe = subprocess.run(
        [sys.executable, "-c", "import os; os.nice(1)"], env=out, capture_output=True, text=True, timeout=30
    )
    if probe.returncode == 77:
        pytest.skip(f"this kernel refuses seccomp filters: {probe.stderr.strip()}")
    refused = -signal.SIGSYS if kill else 1  # killed; PermissionError
    assert "setpriority" not in calls or probe.returncode == refused, probe.stderr
    return out
