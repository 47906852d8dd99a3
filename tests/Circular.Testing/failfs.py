#!/usr/bin/python3
"""failfs: a FUSE pass-through file system that fails with EIO on command.

Usage: failfs.py BACKING MOUNTPOINT CONTROL

Every operation passes through to BACKING, except while the file CONTROL holds a mode:
  read   reads fail with EIO
  write  writes, creates, renames, truncates and fsyncs fail with EIO
  all    both
CONTROL is read on every operation, so a test flips the mode between two calls. direct_io keeps the page cache out
of the way: every read and write reaches this process. The disk under a test's archive, cache or overlay, failing
the way a dying disk does (dm-error and dm-flakey need device-mapper, which the test machines lack).
"""
import errno
import os
import sys

from fusepy import FUSE, FuseOSError, Operations


class FailFs(Operations):
    def __init__(self, root, control):
        self.root = root
        self.control = control

    def _mode(self):
        try:
            with open(self.control) as f:
                return f.read().strip()
        except FileNotFoundError:
            return ""

    def _fail(self, kind):
        mode = self._mode()
        if mode == "all" or mode == kind:
            raise FuseOSError(errno.EIO)

    def _path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def getattr(self, path, fh=None):
        st = os.lstat(self._path(path))
        return {k: getattr(st, k) for k in ("st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size", "st_uid", "st_blocks")}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._path(path))

    def statfs(self, path):
        st = os.statvfs(self._path(path))
        return {k: getattr(st, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")}

    def access(self, path, mode):
        if not os.access(self._path(path), mode):
            raise FuseOSError(errno.EACCES)

    def chmod(self, path, mode):
        os.chmod(self._path(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._path(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self._path(path), times)

    def mkdir(self, path, mode):
        self._fail("write")
        os.mkdir(self._path(path), mode)

    def rmdir(self, path):
        os.rmdir(self._path(path))

    def unlink(self, path):
        os.unlink(self._path(path))

    def rename(self, old, new):
        self._fail("write")
        os.rename(self._path(old), self._path(new))

    def link(self, target, name):
        self._fail("write")
        os.link(self._path(name), self._path(target))

    def symlink(self, name, target):
        self._fail("write")
        os.symlink(target, self._path(name))

    def readlink(self, path):
        return os.readlink(self._path(path))

    def open(self, path, flags):
        return os.open(self._path(path), flags)

    def create(self, path, mode, fi=None):
        self._fail("write")
        return os.open(self._path(path), os.O_RDWR | os.O_CREAT, mode)

    def read(self, path, size, offset, fh):
        self._fail("read")
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        self._fail("write")
        return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        self._fail("write")
        with open(self._path(path), "r+") as f:
            f.truncate(length)

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        self._fail("write")
        os.fsync(fh)
        return 0

    def release(self, path, fh):
        os.close(fh)
        return 0


if __name__ == "__main__":
    backing, mountpoint, control = sys.argv[1:4]
    FUSE(FailFs(os.path.abspath(backing), os.path.abspath(control)), mountpoint, foreground=True, nothreads=False, direct_io=True)
