"""The time account: phases that add up, and a Tune stage split into useful work, trial
start, idle slots and bookkeeping."""

import time

import pytest

from surrogate_hpo.study.time_account import TimeAccount, stage_split


def test_phases_and_other_add_up_to_the_total():
    account = TimeAccount(started=time.perf_counter() - 0.2)
    with account.phase("data"):
        time.sleep(0.05)
    d = account.to_dict()
    assert d["start-up (imports, config)"] == pytest.approx(0.2, abs=0.05)
    assert d["data"] >= 0.05
    assert sum(v for k, v in d.items() if k != "total") == pytest.approx(d["total"], abs=1e-6)


def test_three_trials_on_two_slots_leave_one_slot_idle_at_the_end():
    # stage from t=8 to t=22; two trials run 10..15, the third 15..20 while the other slot waits
    split = stage_split("tpe", 14.0, 8.0, [(10.0, 5.0), (10.0, 5.0), (15.0, 5.0)], slots=2)
    assert split["useful"] == pytest.approx(7.5)
    assert split["trial start"] == pytest.approx(2.0)
    assert split["idle slots"] == pytest.approx(2.5)
    assert split["bookkeeping"] == pytest.approx(2.0)
    assert split["began"] == 8.0


def test_parts_never_exceed_the_stage_wall():
    # trials reporting more function time than the stage lasted (clock skew): nothing negative
    split = stage_split("naswot", 1.0, 100.0, [(100.5, 3.0), (100.2, 0.5)], slots=2)
    parts = [split[k] for k in ("useful", "trial start", "idle slots", "bookkeeping")]
    assert min(parts) >= 0
    assert sum(parts) == pytest.approx(1.0)


def test_a_stage_without_trials_is_all_bookkeeping():
    split = stage_split("final", 3.0, 0.0, [], slots=2)
    assert (split["useful"], split["trial start"], split["idle slots"], split["bookkeeping"]) == (0, 0, 0, 3.0)
