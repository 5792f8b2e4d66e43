"""Staff corrections retrain the category model; the new one is used only if it is not worse."""

from pathlib import Path

from classifiers.category import CategoryModel, CategoryStage, load_categories
from listening.ingest import store_event
from responders.models import Correction
from responders.retraining import CategoryRetrainer, latest_model_dir
from townhall.db import Database
from townhall.domain import Address, InboundMessage, Sender, utcnow

CORRECTED = [
    ("the bus never came this morning on route 5", "transit"),
    ("train to downtown was cancelled again", "transit"),
    ("bus stop shelter glass is smashed", "transit"),
    ("why is the tram so late every day", "transit"),
    ("the 42 bus skipped our stop", "transit"),
    ("music blasting from the bar until 3am", "noise"),
    ("construction drilling starts at 6 am", "noise"),
    ("dogs barking all night next door", "noise"),
    ("leaf blowers at dawn every weekend", "noise"),
    ("car alarms going off all night", "noise"),
    ("fallen branch blocking the park path", "parks_trees"),
    ("the playground swings are broken", "parks_trees"),
    ("please trim the oak tree over the sidewalk", "parks_trees"),
    ("grass in the park hasn't been mowed for weeks", "parks_trees"),
    ("dead tree leaning over the road", "parks_trees"),
]


def _store_corrections(db: Database) -> None:
    for index, (text, category) in enumerate(CORRECTED):
        event = InboundMessage(
            channel="telegram", external_id=f"1:{index}", address=Address("telegram", "1"),
            sender=Sender("1"), text=text, sent_at=utcnow(),
        )
        stored = db.transact(store_event, event, "p-1")
        db.transact(lambda s, m=stored.message_id, c=category: s.add(
            Correction(message_id=m, kind="category", value=c, previous="other",
                       staff_id="U0STAFF001")
        ))


async def test_retrains_compares_and_swaps(models, db: Database, tmp_path: Path) -> None:
    categories = load_categories(Path("config/categories.yaml"))
    stage = CategoryStage(CategoryModel.zero_shot(categories, models.encoder.encode))
    notices: list[str] = []

    async def announce(text: str) -> None:
        notices.append(text)

    retrainer = CategoryRetrainer(
        db=db, stage=stage, categories=categories, encode=models.encoder.encode,
        models_dir=tmp_path, min_corrections=10, announce=announce,
    )
    assert (await retrainer.run())["retrained"] is False  # nothing to learn from yet
    _store_corrections(db)

    report = await retrainer.run()
    assert report["retrained"] is True and report["corrections"] == len(CORRECTED)
    assert report["held_out"] == 3  # every fifth correction
    assert notices and "held-out corrections" in notices[0]
    if report["kept"]:
        assert stage.model.kind == "logistic"
        assert latest_model_dir(tmp_path).name == report["model"]
        assert report["candidate_macro_f1"] >= report["current_macro_f1"]
    else:
        assert stage.model.kind == "zero_shot"
        assert report["candidate_macro_f1"] < report["current_macro_f1"]
    assert (tmp_path / "retraining.log").read_text().count("\n") == 1
    # the same corrections again: not enough new ones since the last training
    if report["kept"]:
        assert (await retrainer.run())["retrained"] is False
