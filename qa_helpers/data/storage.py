"""The archive on S3-compatible object storage: an ``s3://bucket/prefix`` URL wherever an archive path is accepted.

``--archive``, ``$QAKIT_ARCHIVE`` and the notebook parameter ``archive`` all take such a URL. The endpoint
and credentials come from the standard AWS environment variables, read by botocore (through fsspec's
``s3fs``, the one library the kit uses for object storage):

- ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``: the server (MinIO, Ceph, a cloud's S3 endpoint);
  unset means Amazon S3 itself;
- ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` (and ``AWS_SESSION_TOKEN``): the credentials
  (or any other botocore source: ``AWS_PROFILE``, an instance role);
- ``AWS_DEFAULT_REGION`` (or ``AWS_REGION``): the region.

Layout (S3 has no symbolic links): each ingest uploads a whole generation under
``prefix/.gen-NNNNNN/`` (the same files as a local generation folder) and only then writes the small
pointer object ``prefix/CURRENT`` holding the generation's name; a reader reads the pointer once and
keeps reading that generation, so it sees the old archive or the new one, never a mix. The current and
the previous generation are kept (a reader that resolved the pointer just before a switch can finish);
older ones are deleted after the switch.

The pseudonymisation key is never uploaded: it stays with whoever ingests (``--key-file``,
``$QAKIT_KEY_FILE``, ``$QAKIT_PSEUDONYM_KEY``, else ``~/.qakit/keys/s3/<bucket>/<prefix>.pseudonym.key``,
see :func:`default_key_path`). Readers need no key.

DuckDB reads the archive through the same filesystem registered on its connection (:func:`register`);
pyarrow through :func:`arrow_source`. Everything here is imported only for an ``s3://`` archive.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from qa_helpers.errors import ArchiveError, OutputError

SCHEME = "s3://"
POINTER = "CURRENT"                          # the object naming the current generation, written last
GENERATION = re.compile(r"^\.gen-(\d{6})$")  # prefix/.gen-000007/
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_PREFIX_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")


def is_remote(archive: Any) -> bool:
    """Whether ``archive`` names object storage: an ``s3://`` URL, or a path object of one."""
    if getattr(archive, "protocol", None) in ("s3", "s3a"):
        return True
    return isinstance(archive, str) and archive[:5].lower() == SCHEME


def _require() -> None:
    """Refuse in one line when the optional libraries an ``s3://`` archive needs are not installed."""
    try:
        import s3fs  # noqa: F401
        import upath  # noqa: F401
    except ImportError:
        raise ArchiveError("an s3:// archive needs s3fs and universal_pathlib: pip install -e '.[s3]' "
                           "(or `pip install s3fs universal_pathlib`)") from None


def location(url: Any):
    """The archive an ``s3://bucket/prefix`` URL names, as a path object (``upath.UPath``).

    Raises
    ------
    ArchiveError
        For a URL without a bucket or a prefix, or with characters an archive name may not have.
    """
    if getattr(url, "protocol", None) in ("s3", "s3a"):
        return url
    _require()
    from upath import UPath

    text = str(url).strip()
    bucket, _, prefix = text[len(SCHEME):].partition("/")
    parts = [p for p in prefix.split("/") if p]
    if not _BUCKET.match(bucket) or not parts or not all(_PREFIX_PART.match(p) or GENERATION.match(p) for p in parts):
        raise ArchiveError(f"{text!r} is not an archive URL: expected s3://bucket/prefix (bucket: lower-case "
                           "letters, digits, '.', '-'; prefix: letters, digits, '.', '_', '-' and '/')")
    return UPath(f"{SCHEME}{bucket}/{'/'.join(parts)}")


def filesystem():
    """The fsspec S3 filesystem (``s3fs``), configured from the standard AWS environment variables.

    botocore reads ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` itself; they are passed on explicitly
    too, so that an older botocore honours them as well.
    """
    import fsspec

    _require()
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return fsspec.filesystem("s3", **({"endpoint_url": endpoint} if endpoint else {}))


def _key(path: Any) -> str:
    """``bucket/prefix/...``: a path as the filesystem names it."""
    return str(path)[len(SCHEME):].rstrip("/")


def _url(key: str) -> Any:
    from upath import UPath

    return UPath(SCHEME + key)


@contextmanager
def _reported(url: Any, doing: str) -> Iterator[None]:
    """Turn what botocore / s3fs raise into one line naming the archive and the settings to check."""
    try:
        yield
    except (ArchiveError, OutputError):
        raise
    except Exception as exc:  # noqa: BLE001 -- botocore's errors have no common base with OSError
        name = type(exc).__name__
        detail = str(exc).splitlines()[0] if str(exc) else name
        hint = ("check AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY "
                "and AWS_DEFAULT_REGION")
        raise ArchiveError(f"cannot {doing} {url} ({name}: {detail}); {hint}") from None


def _generations(fs, base: str) -> list[str]:
    """Names of the generations stored under ``base`` (``.gen-NNNNNN``), oldest first."""
    try:
        names = [p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(base, detail=False, refresh=True)]
    except FileNotFoundError:
        return []
    return sorted(n for n in names if GENERATION.match(n))


_verified: set[str] = set()  # generations whose files matched their report (generations never change)
_reports: dict[str, str] = {}  # their ingest_report.json, read once per process


def report(generation: Any) -> dict:
    """A generation's ``ingest_report.json`` (read once per process: a generation never changes)."""
    key = _key(generation)
    if key not in _reports:  # FileNotFoundError when there is none: callers say what that means
        _reports[key] = filesystem().cat_file(f"{key}/ingest_report.json").decode("utf-8")
    return json.loads(_reports[key])


def current(archive: Any):
    """The archive's current generation: the pointer read once (or a generation named directly, as
    ``qakit run`` passes it to every notebook), its files checked against its ``ingest_report.json``.

    Raises
    ------
    ArchiveError
        When there is no archive under the URL, the pointer is damaged, the server cannot be reached,
        or the generation's files differ from the list its ingest report records.
    """
    path = location(archive)
    fs = filesystem()
    with _reported(path, "read the archive"):
        if GENERATION.match(path.name):
            generation = path
        else:
            try:
                name = fs.cat_file(f"{_key(path)}/{POINTER}").decode("utf-8").strip()
            except FileNotFoundError:
                raise ArchiveError(f"no archive at {path} (no {POINTER} object): run `qakit ingest --raw <exports> "
                                   f"--archive {path}` first") from None
            if not GENERATION.match(name):
                raise ArchiveError(f"{path}/{POINTER} does not name a generation ({name[:40]!r}): "
                                   f"re-run `qakit ingest --archive {path}`")
            generation = path / name
        key = _key(generation)
        if key in _verified:
            return generation
        try:
            written = report(generation)
        except FileNotFoundError:
            raise ArchiveError(f"no archive at {generation} (no ingest_report.json): run `qakit ingest --raw "
                               f"<exports> --archive {path}`") from None
        expected, found = written.get("files", {}), files(generation)
        problems = [f"{label} {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}"
                    for label, names in (("missing", sorted(set(expected) - set(found))),
                                         ("changed", sorted(f for f in set(expected) & set(found)
                                                            if expected[f] != found[f])),
                                         ("unexpected", sorted(set(found) - set(expected)))) if names]
        if problems:
            raise ArchiveError(f"archive {generation} does not match its ingest_report.json ({'; '.join(problems)}): "
                               f"it was altered after ingest; re-run `qakit ingest --archive {path}`")
    _verified.add(key)
    return generation


def files(generation: Any) -> dict[str, int]:
    """Every parquet object of a generation: relative path -> size in bytes (as ``archive_files`` lists a folder)."""
    key = _key(generation)
    found = filesystem().find(key, detail=True)
    return dict(sorted((name[len(key) + 1:], int(info["size"])) for name, info in found.items()
                       if name.endswith(".parquet")))


def native(path: Any) -> Any:
    """What pandas and DuckDB take for a path: the ``s3://`` URL text for object storage, else the path."""
    return str(path) if is_remote(path) else path


def arrow_source(path: Any) -> tuple[Any, Any]:
    """``(source, filesystem)`` for :func:`pyarrow.dataset.dataset`: the path and ``None`` for a local
    folder (pyarrow's own), the key and the S3 filesystem for object storage."""
    if not is_remote(path):
        return path, None
    return _key(path), filesystem()


def register(connection, archive: Any):
    """Let a DuckDB connection read ``s3://`` files of the archive (DuckDB's httpfs is not needed):
    registers the kit's S3 filesystem on it. A local archive leaves the connection as it is."""
    if is_remote(archive) and "s3" not in connection.list_filesystems():
        connection.register_filesystem(filesystem())
    return connection


def default_key_path(archive: Any) -> Path:
    """Where the pseudonymisation key of an ``s3://`` archive lives when nothing else says: on the local
    machine of whoever ingests, ``~/.qakit/keys/s3/<bucket>/<prefix>.pseudonym.key`` (never in the bucket)."""
    key = _key(location(archive))
    return Path.home() / ".qakit" / "keys" / "s3" / f"{key}.pseudonym.key"


def check_target(archive: Any) -> None:
    """An ingest target that can be written: a valid URL whose bucket exists and can be listed.

    Raises
    ------
    ArchiveError
        For a bad URL, a missing bucket or a server that refuses the credentials.
    """
    path = location(archive)
    fs = filesystem()
    bucket = _key(path).split("/", 1)[0]
    with _reported(path, "reach the bucket of"):
        if not fs.exists(bucket):
            raise ArchiveError(f"no bucket {bucket!r} at the object storage for --archive {path}: create it first "
                               "(or check AWS_ENDPOINT_URL)")
        fs.ls(bucket, detail=False, refresh=True)


def upload(folder: Path, archive: Any) -> Any:
    """Upload a complete local generation folder as the archive's next generation, then switch the
    pointer to it (the pointer last), then delete every other generation but the previous one
    (older ones, and any a failed upload left behind).

    Returns
    -------
    UPath
        The new generation (``s3://bucket/prefix/.gen-NNNNNN``).
    """
    from qa_helpers.data.archive import GENERATION_MARKER

    path = location(archive)
    fs = filesystem()
    base = _key(path)
    with _reported(path, "upload the archive to"):
        existing = _generations(fs, base)
        try:
            previous = fs.cat_file(f"{base}/{POINTER}").decode("utf-8").strip()
        except FileNotFoundError:
            previous = None
        number = max((int(GENERATION.match(n)[1]) for n in existing), default=0) + 1
        name = f".gen-{number:06d}"
        target = f"{base}/{name}"
        local = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*"))
                 if p.is_file() and p.name != GENERATION_MARKER}
        report = local.pop("ingest_report.json")
        # the files concurrently (s3fs batches the requests), then the report that lists them
        fs.put([str(f) for f in local.values()], [f"{target}/{relative}" for relative in local])
        fs.put_file(str(report), f"{target}/ingest_report.json")  # the report after the files it lists
        fs.invalidate_cache(target)
        expected = json.loads(report.read_text(encoding="utf-8")).get("files", {})
        if files(_url(target)) != expected:
            raise ArchiveError(f"the upload of {path}/{name} is incomplete; the archive was not switched: "
                               "run the ingest again")
        fs.pipe_file(f"{base}/{POINTER}", name.encode("utf-8"))  # the switch: readers now see the new generation
        fs.invalidate_cache(base)
        for old in existing:  # older generations and what a failed upload left; the previous one stays
            if old != previous:
                fs.rm(f"{base}/{old}", recursive=True)
        fs.invalidate_cache(base)
    return path / name


def ingest(raw_dir: str | os.PathLike, archive: Any, config: str | os.PathLike | None = None,
           key: bytes | None = None, tables: list[str] | None = None) -> dict:
    """Ingest raw exports into an ``s3://`` archive: build the generation in a local temporary folder
    exactly as a local ingest does, upload it, then switch the pointer (see :func:`upload`).

    With ``tables`` the current generation is first downloaded, so the other tables carry over as
    they do locally. The key is the local key of :func:`qa_helpers.data.privacy.load_key`, never uploaded.

    Returns
    -------
    dict
        The ingest report (also uploaded as the generation's ``ingest_report.json``).
    """
    from qa_helpers.data import ingest as local_ingest
    from qa_helpers.data.archive import archive_path
    from qa_helpers.data.privacy import load_key

    path = location(archive)
    check_target(path)
    key = key if key is not None else load_key(path)
    with tempfile.TemporaryDirectory(prefix="qakit-s3-ingest-") as scratch:
        staging = Path(scratch) / "archive"
        if tables is not None and _generations(filesystem(), _key(path)):
            generation = current(path)
            with _reported(path, "download the current generation of"):
                filesystem().get(_key(generation) + "/", str(staging), recursive=True)
        report = local_ingest.ingest(raw_dir, staging, config=config, key=key, tables=tables)
        upload(archive_path(staging), path)
    return report
