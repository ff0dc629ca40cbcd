"""Opening the gallery database: SQLite (WAL, full sync, secure delete) by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from faceatlas.config import get_settings
from faceatlas.errors import GalleryNotFoundError, StoreError
from faceatlas.gallery.schema import Base
from faceatlas.io.files import PRIVATE_FILE, private_file, private_folder

T = TypeVar("T")
R = TypeVar("R")

BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite statement waits for another connection's lock before failing."""

SCHEMA_LOCK = 0x46414345
"""The PostgreSQL advisory lock ("FACE") held while tables are created."""


def default_url() -> str:
    return f"sqlite:///{get_settings().home / 'gallery' / 'gallery.db'}"


def database_url(database: str | None) -> URL:
    """The database to use: a SQLAlchemy URL as given, a file path as a SQLite database there, None the default."""
    try:
        if database is not None and "://" not in database:
            url = URL.create("sqlite", database=str(Path(database).expanduser().resolve()))  # "?", "%" as they are
        else:
            url = make_url(database or default_url())
        url.get_dialect()
    except (ArgumentError, NoSuchModuleError) as error:
        raise ValueError(f"{database!r} is not a database URL SQLAlchemy can use (sqlite:///path/to/gallery.db, "
                         f"postgresql://..., or a file path): {error}") from None
    if url.get_backend_name() == "sqlite" and url.database and Path(url.database).is_dir():
        raise ValueError(f"{url.database} is a folder: give the database file in it (e.g. {url.database}/gallery.db)")
    return url


def open_engine(url: str | None, create: bool = True) -> Engine:
    """An engine with the tables created (with `create` False, a database without them is a
    `GalleryNotFoundError`: nothing is made); SQLite files get their private folder and file, WAL journaling,
    `synchronous=FULL` (an acknowledged enrolment survives a crash), a 30 s busy timeout for concurrent writers,
    foreign keys and `secure_delete` (deleted rows are overwritten with zeros, not left in free pages). A file that
    is not a database, another program's SQLite file (read, never changed), or a database that cannot be reached or
    written, is a `StoreError`."""
    parsed = database_url(url)
    where = None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        where = parsed.database
        tables = _sqlite_tables(Path(where))
        if not create and not tables:
            raise GalleryNotFoundError(f"no gallery database at {where}: check --db, or make one first "
                                       "(`faceatlas gallery create`, `gallery enroll`, `library index FOLDER`)")
        if tables and not tables & set(Base.metadata.tables):
            raise StoreError(f"{where} holds another program's tables, not a FaceAtlas gallery: check --db")
        private_file(private_folder(Path(where).parent) / Path(where).name)  # its journals take its mode: 0600
    engine = create_engine(parsed)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.connect() as connection:
            missing = _missing_schema(connection)
            absent = not set(inspect(connection).get_table_names()) & set(Base.metadata.tables)
        if absent and not create:
            raise GalleryNotFoundError(f"no FaceAtlas gallery in {parsed.render_as_string(hide_password=True)}: "
                                       "check --db, or make one first (`faceatlas gallery create`)")
        if missing:
            _create_tables(engine)
    except SQLAlchemyError as error:
        engine.dispose()
        raise store_error(error, where) from error
    except (StoreError, GalleryNotFoundError):
        engine.dispose()
        raise
    return engine


def _sqlite_tables(path: Path) -> set[str] | None:
    """The tables of the SQLite file at `path`, read without changing it (opening it as the gallery does would turn
    on WAL journaling); None if there is no file, or an empty one."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as database:
            return {row[0] for row in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path}: {error}") from None


def _missing_schema(connection: Connection) -> bool:
    """Whether tables or columns are missing (a new database, or one made by an earlier FaceAtlas)."""
    present = inspect(connection)
    tables = set(present.get_table_names())
    return any(table.name not in tables or {column.name for column in table.columns}
               - {column["name"] for column in present.get_columns(table.name)}
               for table in Base.metadata.sorted_tables)


def store_errors(cls: type[T]) -> type[T]:
    """Class decorator: every public method of `cls` (and its constructor and `len`) raises a database driver's
    failure (a full disk, a read-only file, a lost server) as a `StoreError` naming the cause, chained to it, never
    as the driver's own class."""
    for name, member in list(vars(cls).items()):
        public = not name.startswith("_") or name in ("__init__", "__len__")
        if callable(member) and public and not isinstance(member, type | staticmethod):
            setattr(cls, name, raises_store_errors(member))
    return cls


def raises_store_errors(method: Callable[..., R]) -> Callable[..., R]:
    """Function decorator: a database driver's failure raised as a `StoreError` (see `store_errors`)."""

    @functools.wraps(method)
    def call(*args: object, **kwargs: object) -> R:
        try:
            return method(*args, **kwargs)
        except SQLAlchemyError as error:
            raise store_error(error) from error

    return call


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Session]:
    """A session whose reads all see one state of the database, whatever other processes write meanwhile."""
    with Session(engine) as session:
        if engine.url.get_backend_name() == "sqlite":
            session.connection().exec_driver_sql("BEGIN")  # the driver begins by itself only before a write
        else:
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


def store_error(error: SQLAlchemyError, where: str | None = None) -> StoreError:
    """A database driver's error as a `StoreError`: the driver's own words, without the SQL it was running."""
    reason = getattr(error, "orig", None) or error
    return StoreError(f"{where or 'the gallery database'}: {reason}")


def _create_tables(engine: Engine) -> None:
    """The missing tables and columns, by one process at a time: two first runs at once would both find a table
    missing and both create it."""
    with _schema_lock(engine) as connection:
        Base.metadata.create_all(connection)  # checks again, under the lock, which tables are missing
        _add_new_columns(connection)


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that one process at a time holds: on PostgreSQL by an advisory lock the
    transaction holds; for a SQLite file by a lock file beside it, which only a run that creates tables opens (an
    in-memory database is this process's alone)."""
    if engine.url.get_backend_name() == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            yield connection
        return
    if engine.url.database in (None, "", ":memory:"):
        with engine.begin() as connection:
            yield connection
        return
    path = Path(engine.url.database).resolve().parent / "schema.lock"
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW, PRIVATE_FILE)  # no write access needed
    except OSError as error:
        raise StoreError(f"{path}: cannot take the lock for creating the gallery's tables ({error.strerror})") \
            from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        with engine.begin() as connection:
            yield connection
    finally:
        os.close(descriptor)  # releases the lock


def _add_new_columns(connection: Connection) -> None:
    """Bring a database made by an earlier FaceAtlas up to the tables' columns (new columns are all nullable)."""
    present = inspect(connection)
    for table in Base.metadata.sorted_tables:
        have = {column["name"] for column in present.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have:
                kind = column.type.compile(dialect=connection.dialect)
                connection.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))


def _sqlite_pragmas(connection: object, _record: object) -> None:
    cursor = connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    for pragma in ("synchronous=FULL", "foreign_keys=ON", "secure_delete=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """WAL mode, tried again for a few seconds while another first run switches the same new file: SQLite answers
    "locked" there at once, without waiting for its busy timeout (six first runs at once met it, rarely)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def data_dir(engine: Engine) -> Path:
    """Where derived files (vector indexes, locks) live: beside a SQLite file, else under FACEATLAS_HOME."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).resolve().parent
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:12]
    return private_folder(get_settings().home / "gallery" / digest)


def person_tables(connection: Connection) -> list[str]:
    """The tables whose deleted rows may hold a person's data: people, the audit log (names), and every table whose
    rows hang on a person through foreign keys (samples, thumbnails, and whatever layers built on the gallery add:
    a photo library's clusters and faces), found in the database itself."""
    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    refers = {table: {key["referred_table"] for key in inspector.get_foreign_keys(table)} for table in present}
    found = {"subjects", "audit"} & present
    while grown := {table for table, referred in refers.items() if referred & found} - found:
        found |= grown
    return sorted(found)


def compact(engine: Engine, wait_s: float = 10.0) -> bool:
    """Give deleted bytes back, waiting up to `wait_s` for other connections: SQLite's file vacuumed (deleted rows are
    zeroed: `secure_delete`) and its write-ahead log checkpointed into it and truncated; PostgreSQL's
    `person_tables` rewritten (VACUUM FULL). True when done; False when another connection's open read snapshot
    (SQLite) or transaction (PostgreSQL) kept old pages in place: calling again once it has closed finishes the job.
    PostgreSQL's own write-ahead log keeps old pages until the server recycles it (and backups for as long as they
    are kept): erasure there is as complete as the server's retention allows."""
    milliseconds = max(1, round(wait_s * 1000))
    if engine.url.get_backend_name() == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if not _snapshots_closed(connection, wait_s):
                return False
            connection.execute(text(f"SET lock_timeout = {milliseconds}"))
            try:
                connection.execute(text(f"VACUUM FULL {', '.join(person_tables(connection))}"))
            except OperationalError as error:
                if "lock timeout" not in str(error):
                    raise
                return False
        return True
    if engine.url.get_backend_name() != "sqlite":
        return True
    with engine.connect() as connection:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {milliseconds}")
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.exec_driver_sql("VACUUM")
        busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return busy == 0


def _snapshots_closed(connection: Connection, wait_s: float) -> bool:
    """Wait up to `wait_s` until no other session of this database holds a snapshot (one taken before the deletion
    committed still sees the deleted rows, and VACUUM FULL copies rows that some snapshot sees, even one that never
    touched these tables and so holds no lock to wait for)."""
    deadline = time.monotonic() + wait_s
    while connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend' AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)")).scalar():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def database_files(engine: Engine) -> list[Path]:
    """The files a SQLite database keeps its content in (none for a server: its files are the server's)."""
    if engine.url.get_backend_name() != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return []
    main = Path(engine.url.database)
    return [path for path in (main, *(main.with_name(main.name + end) for end in ("-wal", "-journal")))
            if path.exists()]
