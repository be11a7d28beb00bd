"""Files that hold data or secrets: readable by this user only, from the moment they exist.

Creating them with the mode (rather than chmod afterwards) leaves no moment in which
another user could open them; folders made for them are 0700. Files that already exist
are narrowed to 0600 when they are opened.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> None:
    """Make the folder (and missing parents) with mode 0700; an existing one is left as is."""
    if not path.exists():
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        path.chmod(DIR_MODE)  # mkdir's mode is narrowed by the umask, never widened


def private_file(path: Path) -> None:
    """Make sure the file exists with mode 0600 (SQLite gives its -wal and -shm the same)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    for existing in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if existing.exists():
            existing.chmod(FILE_MODE)


def write_private(path: Path, text: str) -> bool:
    """Write a new file with mode 0600; False (and nothing written) if it already exists."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return True
