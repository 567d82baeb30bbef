"""`/results` in the chat, through the real bot: before any publication it says when results are expected; after
one, the latest publication in the person's language, the same for everyone who asks."""

from __future__ import annotations

from summaries import publications
from tests.e2e.conftest import CODE, Harness
from tests.summaries.seed import RING, flows, seed


async def test_results_before_and_after_a_publication(harness: Harness) -> None:
    h = harness
    amina = h.user("Amina", language="fr")
    [nothing] = await h.send(amina, "/results")
    assert "open the invite link" in str(nothing.text) or "lien d’invitation" in str(
        nothing.text
    )  # no consultation yet

    [consent] = await h.send(amina, f"/start {CODE}")
    assert "Aucun total inférieur à 10" in str(consent.text)  # k in the consent's "only totals" sentence
    await h.agree(amina, consent)
    [later] = await h.send(amina, "/results")
    assert "ne sont pas encore publiés" in str(later.text) and "E2E consultation" in str(later.text)

    await seed(h.database, CODE, people=40, create=False)
    made = await publications.publish(h.database, CODE, flows, keys=RING)
    assert made.respondents == 41
    [results] = await h.send(amina, "/results")
    assert str(results.text).startswith("Résultats de « E2E consultation »")
    assert "Personnes qui ont participé : 41" in str(results.text)
    assert "Les nombres inférieurs à 10 ne sont jamais montrés" in str(results.text)

    omar = h.user("Omar", language="en")
    [consent] = await h.send(omar, f"/start {CODE}")
    await h.agree(omar, consent)
    [same] = await h.send(omar, "/results")
    assert "People who took part: 41" in str(same.text)  # what one reads does not depend on who asks
    [privacy] = await h.send(omar, "/privacy")
    assert "never a number smaller than 10" in str(privacy.text)
