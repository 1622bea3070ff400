"""The learning step as pure functions: fit on people's labels, self-train, assign, and the no-feedback class."""

from __future__ import annotations

import numpy as np
import pytest

from jobs import learn


def unit(*rows: list[float]) -> np.ndarray:
    a = np.asarray(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def blob(rng: np.random.Generator, centre: np.ndarray, n: int, spread: float) -> np.ndarray:
    pts = centre[None, :] + rng.normal(0, spread, size=(n, len(centre)))
    return (pts / np.linalg.norm(pts, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def world():
    """Three themes and a no-feedback region, 32-d, well apart; people labelled three texts of each."""
    rng = np.random.default_rng(7)
    centres = np.eye(32, dtype=np.float32)[:4]
    texts = {c: blob(rng, centres[c], 40, 0.12) for c in range(4)}
    return rng, centres, texts


def labelled(texts: dict, per_class: int = 3) -> learn.Examples:
    vecs, classes = [], []
    for c, rows in texts.items():
        vecs.append(rows[:per_class])
        classes += [learn.NOT_FEEDBACK if c == 3 else c + 1] * per_class  # theme ids 1..3
    return learn.Examples(np.vstack(vecs), np.asarray(classes))


def test_fit_returns_none_without_any_label():
    assert learn.fit(learn.Examples(np.zeros((0, 4), np.float32), np.zeros(0, np.int64)), 0.2) is None


def test_texts_go_to_the_theme_people_labelled_and_not_feedback_claims_no_region(world):
    _rng, _c, texts = world
    model = learn.fit(labelled(texts), floor=0.2)
    for c, rows in texts.items():
        pred = learn.predict(model, rows[3:])
        if c == 3:  # the region around what people turned off: no theme, and not turned off wholesale
            assert (pred.classes == learn.NO_CLASS).mean() > 0.9
        else:
            assert (pred.classes == c + 1).mean() > 0.95, c


def test_not_feedback_turns_off_the_repeats_of_what_people_turned_off(world):
    rng, _c, texts = world
    model = learn.fit(labelled(texts), floor=0.2)
    copies = blob(rng, texts[3][0], 20, 0.01)  # the same line again, a typo here and there
    pred = learn.predict(model, copies)
    assert (pred.classes == learn.NOT_FEEDBACK).all() and not pred.suggested.any()


def test_one_not_feedback_label_on_a_theme_text_leaves_the_theme_its_other_texts(world):
    """The review's case: "not feedback" on one reporting text, a theme nobody had labelled, turned off all 23
    reporting texts of the set (French included), and the theme with them."""
    rng, _c, texts = world
    examples = labelled({c: texts[c] for c in (1, 2)})
    wrong = learn.Examples(np.vstack([examples.vectors, texts[0][3:4]]),
                           np.concatenate([examples.classes, [learn.NOT_FEEDBACK]]))
    model = learn.self_train(learn.fit(wrong, floor=0.2), np.vstack([texts[c] for c in range(4)]))
    pred = learn.predict(model, texts[0][4:])
    assert (pred.classes == learn.NO_CLASS).mean() > 0.95  # left to discovery, as if nobody had said a word
    assert learn.predict(model, blob(rng, texts[0][3], 5, 0.01)).classes.tolist() == [learn.NOT_FEEDBACK] * 5


def test_a_text_far_from_every_label_gets_no_class(world):
    _rng, _c, texts = world
    model = learn.fit(labelled(texts), floor=0.2)
    stranger = unit([0.0] * 20 + [1.0] + [0.0] * 11)
    pred = learn.predict(model, stranger)
    assert pred.classes[0] == learn.NO_CLASS and not pred.suggested[0]


def test_learned_threshold_follows_how_loose_peoples_examples_are_but_never_below_the_floor(world):
    rng, centres, _t = world
    tight = learn.Examples(np.vstack([blob(rng, centres[0], 5, 0.05), blob(rng, centres[1], 5, 0.05)]),
                           np.asarray([1] * 5 + [2] * 5))
    loose = learn.Examples(np.vstack([blob(rng, centres[0], 5, 0.4), blob(rng, centres[1], 5, 0.4)]),
                           np.asarray([1] * 5 + [2] * 5))
    assert learn.learned_threshold(tight, 0.1) > learn.learned_threshold(loose, 0.1)
    assert learn.learned_threshold(loose, 0.95) == 0.95
    one_each = learn.Examples(tight.vectors[[0, 5]], np.asarray([1, 2]))
    assert learn.learned_threshold(one_each, 0.3) == 0.3  # nothing to learn the spread from


def test_self_training_moves_a_centre_towards_the_texts_it_claims():
    rng = np.random.default_rng(3)
    theme = unit([1.0, 0.6] + [0.0] * 14)[0]
    texts = blob(rng, theme, 60, 0.1)
    # People's two examples sit at the edge of the theme.
    edge = unit([1.0, 0.0, 0.05] + [0.0] * 13, [1.0, 0.0, -0.05] + [0.0] * 13)
    model = learn.fit(learn.Examples(edge, np.asarray([1, 1])), floor=0.5)
    before = float(model.centroids[0] @ theme)
    trained = learn.self_train(model, texts)
    assert float(trained.centroids[0] @ theme) > before + 0.05
    assert np.array_equal(trained.examples.vectors, model.examples.vectors)  # examples stay people's


def test_a_theme_taught_one_example_keeps_its_centre_where_people_put_it():
    # One moved quote says what a theme is about, not how wide it is: it drifted to other subjects (a review).
    rng = np.random.default_rng(3)
    texts = blob(rng, unit([1.0, 0.6] + [0.0] * 14)[0], 60, 0.1)
    one = learn.fit(learn.Examples(unit([1.0, 0.0] + [0.0] * 14), np.asarray([1])), floor=0.5)
    assert np.allclose(learn.self_train(one, texts).centroids, one.centroids)


def test_a_near_tie_between_two_learned_themes_is_a_suggestion_not_a_filing():
    a, b = unit([1.0, 0.0, 0.0, 0.0])[0], unit([0.0, 1.0, 0.0, 0.0])[0]
    model = learn.fit(learn.Examples(np.stack([a, b]), np.asarray([1, 2])), floor=0.3)
    between = unit([1.0, 0.98, 0.0, 0.0])
    pred = learn.predict(model, between)
    assert pred.classes[0] == 1 and pred.suggested[0]
    clear = unit([1.0, 0.2, 0.0, 0.0])
    pred = learn.predict(model, clear)
    assert pred.classes[0] == 1 and not pred.suggested[0]


def test_just_below_the_bar_is_suggested_but_not_feedback_is_never_merely_suggested():
    a = unit([1.0, 0.0, 0.0])[0]
    model = learn.fit(learn.Examples(np.stack([a]), np.asarray([1])), floor=0.8)
    near = unit([1.0, 0.8, 0.0])  # cosine 0.78 to a: under the bar, within the band
    pred = learn.predict(model, near)
    assert pred.classes[0] == 1 and pred.suggested[0]
    off = learn.fit(learn.Examples(np.stack([a]), np.asarray([learn.NOT_FEEDBACK])), floor=0.8)
    pred = learn.predict(off, near)
    assert pred.classes[0] == learn.NO_CLASS and not pred.suggested[0]


def test_a_near_duplicate_of_one_example_joins_its_theme_even_far_from_the_centre():
    ex = unit([1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0])  # three unlike quotes
    model = learn.fit(learn.Examples(ex, np.asarray([5, 5, 5])), floor=0.5)
    dup = unit([0.0, 0.0, 1.0, 0.05])
    assert float(dup[0] @ model.centroids[0]) < 0.6  # far from the centre
    pred = learn.predict(model, dup)
    assert pred.classes[0] == 5 and not pred.suggested[0]


def test_a_discovered_theme_nearer_than_the_learned_one_keeps_its_texts():
    # People labelled "champion left" (axis 0); onboarding (axis 1) is a discovered theme nobody labelled.
    champion, onboarding = unit([1.0, 0.0, 0.0, 0.0])[0], unit([0.0, 1.0, 0.0, 0.0])[0]
    model = learn.fit(learn.Examples(unit([1.0, 0.1, 0.0, 0.0], [1.0, -0.1, 0.0, 0.0]), np.asarray([7, 7])),
                      floor=0.3)
    texts = unit([0.55, 1.0, 0.0, 0.0], [1.0, 0.3, 0.0, 0.0])  # onboarding brushing champion; champion itself
    alone = learn.predict(model, texts)
    assert list(alone.classes) == [7, 7]  # with nothing to compete, the learned theme took the onboarding text
    rivalled = learn.with_rivals(model, onboarding[None, :], np.asarray([0.5]))
    pred = learn.predict(rivalled, texts)
    assert list(pred.classes) == [learn.NO_CLASS, 7] and not pred.suggested[1]
    # A rival the text does not clear the bar of competes with nothing.
    loose = learn.with_rivals(model, onboarding[None, :], np.asarray([0.95]))
    assert list(learn.predict(loose, texts).classes) == [7, 7]
    assert float(champion @ texts[1]) > 0.9


def test_a_repeat_of_a_persons_example_joins_the_learned_theme_whatever_discovered_theme_is_nearer():
    example = unit([1.0, 0.9, 0.0, 0.0])
    model = learn.fit(learn.Examples(example, np.asarray([3])), floor=0.3)
    rivalled = learn.with_rivals(model, unit([0.9, 1.0, 0.0, 0.0]), np.asarray([0.3]))
    copy = unit([1.0, 0.92, 0.0, 0.0])
    assert float((copy @ rivalled.rivals.T)[0, 0]) > float((copy @ rivalled.centroids.T)[0, 0]) - 0.01
    pred = learn.predict(rivalled, copy)
    assert pred.classes[0] == 3 and not pred.suggested[0]


def test_the_discovered_theme_a_person_carved_a_theme_out_of_is_its_parent_not_its_rival():
    # "Basque version" carved out of "Data residency": its examples sit in the discovered theme.
    residency = unit([1.0, 0.0, 0.0, 0.0])
    examples = unit([1.0, 0.7, 0.0, 0.0], [1.0, 0.8, 0.05, 0.0])
    model = learn.with_rivals(learn.fit(learn.Examples(examples, np.asarray([4, 4])), floor=0.3),
                              residency, np.asarray([0.5]))
    assert model.parents.tolist() == [[True]]
    basque_line = unit([0.8, 0.1, 0.0, 1.0])  # nearer the residency centre than the learned one, no repeat
    assert float((basque_line @ residency.T)[0, 0]) > float(learn.scores(model, basque_line)[0, 0])
    assert float((basque_line @ examples.T).max()) < learn.repeat_bar(model.threshold)
    assert learn.predict(model, basque_line).classes[0] == 4
    # Another learned theme, elsewhere, still meets the residency theme as a rival.
    other = learn.with_rivals(learn.fit(learn.Examples(unit([0.0, 0.0, 1.0, 0.0], [0.1, 0.0, 1.0, 0.0]),
                                                       np.asarray([9, 9])), floor=0.3), residency, np.asarray([0.5]))
    assert other.parents.tolist() == [[False]]


def test_repeats_example_is_true_only_for_near_copies_of_the_given_class_examples():
    model = learn.fit(learn.Examples(unit([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]), np.asarray([1, 2])), floor=0.3)
    texts = unit([1.0, 0.05, 0.0], [1.0, 1.5, 0.0], [0.0, 1.0, 0.02])
    assert learn.repeats_example(model, texts, np.asarray([1, 1, 1])).tolist() == [True, False, False]
    assert learn.repeats_example(model, texts, np.asarray([2, 0, 2])).tolist() == [False, False, True]


def test_nearest_clause_picks_the_clause_that_states_the_seeded_theme():
    subject = unit([1.0, 0.0, 0.0, 0.0])[0]
    notes = [unit([0.0, 0.0, 1.0, 0.0], [0.9, 0.1, 0.0, 0.0]),  # logistics clause first
             unit([1.0, 0.1, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]),
             unit([0.0, 1.0, 0.2, 0.0], [0.0, 0.0, 0.1, 1.0], [0.95, 0.0, 0.1, 0.0])]
    assert learn.nearest_clause(notes) == [1, 0, 2]
    assert float(notes[2][2] @ subject) > 0.9


def test_a_theme_of_near_identical_quotes_sets_a_bar_of_near_duplicates(world):
    rng, centres, _t = world
    tight = learn.Examples(blob(rng, centres[0], 8, 0.02), np.asarray([1] * 8))
    assert learn.learned_threshold(tight, 0.2) > 0.9


def test_refile_moves_repeats_asks_about_the_same_subject_and_keeps_the_rest():
    """Texts the machine filed in theme 9 before a person labelled theme 1 (one example, ``a``)."""
    a, b = unit([1.0, 0.0, 0.0, 0.0, 0.0])[0], unit([0.0, 1.0, 0.0, 0.0, 0.0])[0]
    model = learn.fit(learn.Examples(np.stack([a, b]), np.asarray([1, learn.NOT_FEEDBACK])), floor=0.3)
    texts = unit([1.0, 0.05, 0.0, 0.0, 0.1],  # a copy of the example: follows it
                 [0.55, 0.0, 0.45, 0.0, 0.703],  # same subject, said otherwise, nearer theme 1 than its own: asked
                 [0.7, 0.0, 1.0, 0.0, 0.0],  # same subject, but nearer its own theme: stays, nobody asked
                 [0.0, 1.0, 0.0, 0.05, 0.0],  # a copy of what people turned off
                 [0.0, 0.0, 0.0, 1.0, 0.0])  # unrelated: stays
    own = unit([0.0, 0.0, 1.0, 0.0, 0.0])[0]
    sims = texts @ own
    none = learn.Examples(np.zeros((0, 5), np.float32), np.zeros(0, np.int64))
    got = learn.refile(model, texts, np.full(5, 9), sims, none)
    assert got.to.tolist() == [1, 0, 0, 0, 0]
    assert got.ask.tolist() == [0, 1, 0, 0, 0]
    assert got.off.tolist() == [False, False, False, True, False] and not got.leave.any()
    rejected = learn.Examples(texts[4:5], np.asarray([9]))  # a person took a copy of the last one out of theme 9
    assert learn.refile(model, texts, np.full(5, 9), sims, rejected).leave.tolist() == [False] * 4 + [True]


def test_refile_does_not_ask_about_a_text_under_the_learned_bar_however_far_from_its_own_centre():
    # Filed in a broad theme, every member sits far from its centre: a text the learned theme does not claim for
    # sure was asked about all the same (a review: 7 of 8 suggestions for an SSO theme were other subjects).
    a = unit([1.0, 0.0, 0.0, 0.0, 0.0])[0]
    model = learn.fit(learn.Examples(a[None, :], np.asarray([1])), floor=0.3)
    texts = unit([0.27, 0.0, 0.1, 0.0, 0.96], [0.55, 0.0, 0.45, 0.0, 0.703])
    assert 0.25 < float(learn.scores(model, texts[:1])[0, 0]) < model.threshold  # only a suggestion's score
    sims = texts @ unit([0.0, 0.0, 1.0, 0.0, 0.0])[0]
    none = learn.Examples(np.zeros((0, 5), np.float32), np.zeros(0, np.int64))
    assert learn.refile(model, texts, np.full(2, 9), sims, none).ask.tolist() == [0, 1]


def test_a_clause_the_filter_turned_off_stays_off_when_nearer_what_people_turned_off_than_its_theme():
    a, b = unit([1.0, 0.0, 0.0])[0], unit([0.0, 1.0, 0.0])[0]
    model = learn.fit(learn.Examples(np.stack([a, b]), np.asarray([1, learn.NOT_FEEDBACK])), floor=0.3)
    between = unit([0.5, 0.6, 0.62])  # no repeat of b, but nearer b than theme 1
    score = learn.predict(model, between).scores
    assert not learn.turned_off(model, between, score)[0]  # the filter kept it: only a repeat turns it off
    assert learn.turned_off(model, between, score, repeats=False)[0]  # the filter turned it off: it stays off
