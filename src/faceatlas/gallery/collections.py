"""A collection's row: found (or made, when asked) and checked against the recogniser that will write to it."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from faceatlas.errors import GalleryError, GalleryNotFoundError
from faceatlas.gallery.schema import Collection, new_key


def open_collection(engine: Engine, name: str, model_id: str, model_sha256: str, create: bool) -> tuple[int, str]:
    """The id and key of collection `name`, made if missing and `create`. A collection is pinned to one embedding
    model and the file it ran (its SHA-256): opening it with another is refused, since their vectors do not
    compare. Rows made by earlier versions get the key and SHA-256 they lack."""
    with Session(engine) as session:
        found = session.scalar(select(Collection).where(Collection.name == name))
        if found is None and not create:
            names = ", ".join(session.scalars(select(Collection.name).order_by(Collection.name))) or "none"
            raise GalleryNotFoundError(f"no collection '{name}' in this gallery (its collections: {names}): check "
                                       "--collection")
        if found is None:
            found = Collection(name=name, model_id=model_id, model_sha256=model_sha256)
            session.add(found)
            try:
                session.commit()
            except IntegrityError:  # another process made it at the same moment: theirs is the one
                session.rollback()
                found = session.scalar(select(Collection).where(Collection.name == name))
        if found.model_id != model_id:
            raise GalleryError(f"collection '{name}' holds embeddings of model '{found.model_id}', not '{model_id}': "
                               "open it with a profile using that recogniser, or use another collection")
        if found.model_sha256 and found.model_sha256 != model_sha256:
            raise GalleryError(f"collection '{name}' holds embeddings of another file of '{model_id}' (sha256 "
                               f"{found.model_sha256[:12]}…, this one {model_sha256[:12]}…): re-embed into a new "
                               "collection (`gallery migrate`)")
        if found.model_sha256 is None or found.key is None:  # made before collections recorded them
            found.model_sha256 = found.model_sha256 or model_sha256
            found.key = found.key or new_key()
            session.commit()
        return found.id, found.key


def collection_names(engine: Engine) -> list[str]:
    """Every collection of the database, by name."""
    with Session(engine) as session:
        return list(session.scalars(select(Collection.name).order_by(Collection.name)))
