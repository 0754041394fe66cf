#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Writes a reproducible newc cpio archive from a manifest, without root: device nodes,
# owners and modes come from the manifest, mtimes are 0 and entries are in manifest order.
#
# Manifest lines (like the kernel's gen_init_cpio), '#' starts a comment:
#   dir   PATH MODE
#   file  PATH SOURCE MODE
#   slink PATH TARGET MODE
#   nod   PATH MODE c|b MAJOR MINOR
# Usage: mkcpio.py MANIFEST > out.cpio   (MANIFEST may be '-' for stdin)
import os
import stat
import sys

def main():
    src = sys.stdin if sys.argv[1:] == ["-"] else open(sys.argv[1])
    out = sys.stdout.buffer
    ino = [1]
    seen = set()

    def entry(name, mode, data=b"", rdev=(0, 0)):
        name = name.lstrip("/")
        if name in seen:
            sys.exit(f"mkcpio: duplicate entry {name}")
        seen.add(name)
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join("%08X" % v for v in (
            ino[0], mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(nb), 0))
        ino[0] += 1
        out.write(hdr.encode() + nb)
        out.write(b"\0" * ((4 - (110 + len(nb)) % 4) % 4))
        out.write(data)
        out.write(b"\0" * ((4 - len(data) % 4) % 4))

    for lineno, line in enumerate(src, 1):
        f = line.split("#", 1)[0].split()
        if not f:
            continue
        kind = f[0]
        try:
            if kind == "dir":
                entry(f[1], stat.S_IFDIR | int(f[2], 8))
            elif kind == "file":
                with open(f[2], "rb") as fh:
                    entry(f[1], stat.S_IFREG | int(f[3], 8), fh.read())
            elif kind == "slink":
                entry(f[1], stat.S_IFLNK | int(f[3], 8), f[2].encode())
            elif kind == "nod":
                t = stat.S_IFCHR if f[3] == "c" else stat.S_IFBLK
                entry(f[1], t | int(f[2], 8), rdev=(int(f[4]), int(f[5])))
            else:
                raise ValueError(f"unknown kind {kind}")
        except (IndexError, ValueError, OSError) as e:
            sys.exit(f"mkcpio: line {lineno}: {e}")
    entry("TRAILER!!!", 0)
    out.flush()

if __name__ == "__main__":
    main()
