#!/usr/bin/env python3
"""Writes hostile and broken tarballs for the import tests into DIR, each holding a valid-looking root
file system plus one bad member. Usage: make-hostile.py DIR CANARY_NAME"""
import io, os, sys, tarfile

out, canary = sys.argv[1], sys.argv[2]

def base(tf):
    for d in ("./", "./bin", "./etc", "./usr", "./usr/bin"):
        ti = tarfile.TarInfo(d); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; tf.addfile(ti)
    data = b"#!/bin/true\n"
    ti = tarfile.TarInfo("./usr/bin/sh"); ti.size = len(data); ti.mode = 0o755
    tf.addfile(ti, io.BytesIO(data))

def add_file(tf, name, data=b"x\n"):
    ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644
    tf.addfile(ti, io.BytesIO(data))

def write(name, extra):
    with tarfile.open(os.path.join(out, name), "w", format=tarfile.GNU_FORMAT) as tf:
        base(tf)
        extra(tf)

write("dotdot.tar", lambda tf: add_file(tf, "./../../../../" + canary))
write("absolute.tar", lambda tf: add_file(tf, "/tmp/" + canary))
def symlink_escape(tf):
    ti = tarfile.TarInfo("./evil"); ti.type = tarfile.SYMTYPE; ti.linkname = "/tmp"; tf.addfile(ti)
    add_file(tf, "./evil/" + canary)
write("symlink.tar", symlink_escape)
def hardlink_escape(tf):
    ti = tarfile.TarInfo("./etc/hl"); ti.type = tarfile.LNKTYPE; ti.linkname = "../../../../etc/passwd"; tf.addfile(ti)
write("hardlink.tar", hardlink_escape)
write("good.tar", lambda tf: add_file(tf, "./etc/ok"))
good = open(os.path.join(out, "good.tar"), "rb").read()
open(os.path.join(out, "truncated.tar"), "wb").write(good[:4352])  # inside the data of the last member
open(os.path.join(out, "garbage.tar"), "wb").write(os.urandom(20000))
with tarfile.open(os.path.join(out, "noroot.tar"), "w") as tf:
    add_file(tf, "./README")
