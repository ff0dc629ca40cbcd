"""The registry: bundled model cards plus the user's own cards under `FACEATLAS_HOME/cards/`."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from faceatlas.config import get_settings
from faceatlas.errors import ModelIntegrityError, ModelUnavailableError
from faceatlas.io.files import inside, safe_name, sha256_file
from faceatlas.models.card import ModelCard

BUNDLED_CARDS = resources.files("faceatlas.models") / "cards"


def user_cards_dir() -> Path:
    return get_settings().home / "cards"


def bundled_card_path(model_id: str) -> Path:
    """Path of a bundled card file (the calibration command rewrites it)."""
    return Path(str(BUNDLED_CARDS / f"{model_id}.json"))


def card_path(model_id: str) -> Path:
    """The file a card is read from: bundled, else the user's (the calibration command rewrites it)."""
    bundled = bundled_card_path(safe_name(model_id, "model id"))
    return bundled if bundled.is_file() else user_cards_dir() / f"{model_id}.json"


def list_cards() -> list[ModelCard]:
    """Every known card: bundled first, then the user's (a user card may not shadow a bundled id)."""
    cards: dict[str, ModelCard] = {}
    for entry in sorted(BUNDLED_CARDS.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            card = ModelCard.model_validate_json(entry.read_text())
            cards[card.id] = card
    user_dir = user_cards_dir()
    if user_dir.is_dir():
        for path in sorted(user_dir.glob("*.json")):
            card = ModelCard.from_file(path)
            cards.setdefault(card.id, card)
    return list(cards.values())


def get_card(model_id: str) -> ModelCard:
    for card in list_cards():
        if card.id == model_id:
            return card
    known = ", ".join(c.id for c in list_cards())
    raise ModelUnavailableError(f"unknown model '{model_id}' (known: {known})")


def with_dependencies(card: ModelCard) -> list[ModelCard]:
    """The card and every card it needs (fusion members, auxiliary files), each once, weights-bearing only."""
    seen: dict[str, ModelCard] = {}

    def visit(current: ModelCard) -> None:
        if current.id in seen:
            return
        seen[current.id] = current
        for dependency in (*current.members, *current.requires):
            visit(get_card(dependency))

    visit(card)
    return [c for c in seen.values() if c.has_weights]


def known_models() -> list[dict[str, object]]:
    """The table of known models that are not bundled (card fields, keyed by `sha256`): `models import` recognises
    their files."""
    return json.loads((resources.files("faceatlas.models") / "known-models.json").read_text())


def restricted_licence_of(digest: str) -> str | None:
    """The restrictive licence a file is under when it is a bundled or known model's (by SHA-256), else None."""
    for card in list_cards():
        if card.sha256 == digest and card.accept_licence:
            return card.accept_licence
    return next((str(e["accept_licence"]) for e in known_models() if e["sha256"] == digest
                 and e.get("accept_licence")), None)


def register_card(card_path: Path) -> ModelCard:
    """Validate a user's card (its id, and its file: an ONNX model whose inputs and outputs match what the card
    declares) and copy it into the user's card folder. A file FaceAtlas knows (by SHA-256) keeps the restrictive
    licence it is under, whatever the card says."""
    card = ModelCard.from_file(card_path)
    if card.source.path is None:
        raise ModelUnavailableError("a user card must name its weight file in source.path")
    if any(c.id == card.id for c in list_cards() if c.source.path is None):
        raise ModelUnavailableError(f"'{card.id}' is a bundled model id; choose another id")
    check_onnx_file(card)
    gate = restricted_licence_of(sha256_file(card.source.path))
    if gate and card.accept_licence != gate:
        card = card.model_copy(update={"accept_licence": gate})
    user_dir = user_cards_dir()
    user_dir.mkdir(parents=True, exist_ok=True)
    destination = user_dir / f"{card.id}.json"
    if Path(card_path).resolve() != destination.resolve() or gate:
        card.to_file(destination)
    return card


def remove_user_card(model_id: str) -> None:
    path = inside(user_cards_dir(), user_cards_dir() / f"{safe_name(model_id, 'model id')}.json")
    if not path.exists():
        raise ModelUnavailableError(f"no user card '{model_id}'")
    path.unlink()



def check_onnx_file(card: ModelCard) -> None:
    """A user's weight file must be an ONNX model (a text file is not) whose single image input is NCHW with three
    channels and, where the graph fixes them, the card's input size and embedding size (`ModelIntegrityError`)."""
    import onnx

    path = card.source.path
    if path is None or not Path(path).is_file():
        raise ModelUnavailableError(f"model '{card.id}': file {path} does not exist")
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as error:
        raise ModelIntegrityError(f"model '{card.id}': {path} is not a valid ONNX model ({error})") from None
    initialisers = {tensor.name for tensor in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in initialisers]
    shape = [d.dim_value or None for d in inputs[0].type.tensor_type.shape.dim] if len(inputs) == 1 else []
    if len(shape) != 4 or shape[1] not in (3, None):
        found = [(v.name, [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim]) for v in inputs]
        raise ModelIntegrityError(f"model '{card.id}': expected one NCHW image input with 3 channels, the graph has "
                                  f"{found}")
    size = card.input_spec.get("size")
    if isinstance(size, list) and None not in shape[2:] and list(shape[2:]) != [int(s) for s in size]:
        raise ModelIntegrityError(f"model '{card.id}': the card says input {size}, the graph takes {shape[2:]}")
    if card.task == "recognise" and card.embedding_dim:
        outputs = [[d.dim_value or None for d in v.type.tensor_type.shape.dim] for v in model.graph.output]
        if outputs and outputs[0] and outputs[0][-1] not in (card.embedding_dim, None):
            raise ModelIntegrityError(f"model '{card.id}': the card says {card.embedding_dim}-d embeddings, the "
                                      f"graph gives {outputs[0][-1]}")
