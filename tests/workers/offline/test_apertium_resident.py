"""The resident apertium pipelines: the wrapper's output, byte for byte, for a
fraction of the start-up; a pipeline that fails is closed and the text is
translated by the wrapper instead."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from tests.ci import needs
from tests.workers.offline.conftest import NO_APERTIUM
from workers.nlp.offline import apertium
from workers.nlp.offline import apertium_resident as resident

HAS_SPANISH = "spa-eng" in apertium.available_modes()

TEXTS = [
    "Hola, mi pedido [no] ha llegado.\n\nQuiero un reembolso^$ por favor. "
    "Gracias,\nAna",
    "My order #12345 arrived broken <again> @ 3pm / 50% off\\ {x} *star* ~tilde",
    "Bonjour, ma commande n'est pas arrivée. Je veux un remboursement.\n\n\nMerci\n",
    "Bon dia, la comanda no ha arribat. Olá, a encomenda não chegou. "
    "Ciao, l'ordine non è arrivato.",
    "   \n",
]


def wrapper(mode: str, text: str) -> str:
    return subprocess.run(
        ["apertium", "-u", "-f", "txt", mode],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.rstrip("\n")


@pytest.fixture(autouse=True)
def fresh_pipelines():
    resident.close_all()
    yield
    resident.close_all()


@needs(HAS_SPANISH, NO_APERTIUM)
def test_every_installed_direction_translates_as_the_wrapper(monkeypatch):
    monkeypatch.setenv(resident.ENABLED_ENV, "100")
    modes = sorted(apertium.available_modes())
    for mode in modes:
        for text in TEXTS:
            assert resident.translate(mode, text, timeout=60).rstrip("\n") == wrapper(
                mode, text
            ), (mode, text)
    # One pipeline per direction, started once and still running.
    assert sorted(resident._pipelines) == modes
    assert all(p.alive() for p in resident._pipelines.values())


@needs(HAS_SPANISH, NO_APERTIUM)
def test_the_step_uses_the_resident_pipeline():
    step = apertium.apertium_step("offline:apertium@es-en", None)
    first = step([TEXTS[0]])[0]["text"]
    pipeline = resident._pipelines["spa-eng"]
    assert step([TEXTS[0]])[0]["text"] == first == wrapper("spa-eng", TEXTS[0])
    assert resident._pipelines["spa-eng"] is pipeline


@needs(HAS_SPANISH, NO_APERTIUM)
def test_a_long_text_fills_no_pipe_for_good():
    # Far more than a pipe holds, both ways: written while the reply is read.
    text = "Quiero un reembolso, el paquete llegó roto. " * 6000
    assert len(text.encode()) > 200_000
    assert resident.translate("spa-eng", text, timeout=120).rstrip("\n") == wrapper(
        "spa-eng", text
    )


@needs(HAS_SPANISH, NO_APERTIUM)
def test_a_dead_pipeline_falls_back_to_the_wrapper_then_restarts():
    step = apertium.apertium_step("offline:apertium@es-en", None)
    expected = wrapper("spa-eng", TEXTS[0])
    assert step([TEXTS[0]])[0]["text"] == expected
    broken = resident._pipelines["spa-eng"]
    os.kill(broken._procs[3].pid, signal.SIGKILL)
    broken._procs[3].wait(timeout=10)
    # This text: the pipeline is found dead and replaced, or fails mid-way and
    # the wrapper translates it; either way the text comes out right.
    assert step([TEXTS[0]])[0]["text"] == expected
    assert step([TEXTS[0]])[0]["text"] == expected
    replacement = resident._pipelines["spa-eng"]
    assert replacement is not broken and replacement.alive()
    assert not broken.alive()


@needs(HAS_SPANISH, NO_APERTIUM)
def test_a_timeout_closes_the_pipeline():
    resident.translate("spa-eng", "Hola.", timeout=60)
    pipeline = resident._pipelines["spa-eng"]
    with pytest.raises(resident.ResidentError):
        resident.translate("spa-eng", TEXTS[0] * 50, timeout=1e-6)
    assert "spa-eng" not in resident._pipelines
    assert not pipeline.alive()


@needs(HAS_SPANISH, NO_APERTIUM)
def test_it_can_be_turned_off(monkeypatch):
    monkeypatch.setenv(resident.ENABLED_ENV, "0")
    step = apertium.apertium_step("offline:apertium@es-en", None)
    assert step([TEXTS[0]])[0]["text"] == wrapper("spa-eng", TEXTS[0])
    assert resident._pipelines == {}


def test_a_missing_mode_file_means_no_pipeline(monkeypatch, tmp_path):
    monkeypatch.setenv(resident.DATADIR_ENV, str(tmp_path))
    assert resident.mode_stages("spa-eng") is None
    with pytest.raises(resident.ResidentError, match="no mode file"):
        resident.translate("spa-eng", "Hola.", timeout=5)
    (tmp_path / "modes").mkdir()
    (tmp_path / "modes" / "x-y.mode").write_text(
        "lt-proc '/a b/x.bin' |no-such-program-here $2 -q|lt-proc $1 y.bin\n"
    )
    assert resident.mode_stages("x-y") is None
    (tmp_path / "modes" / "x-y.mode").write_text("lt-proc '/a b/x.bin'|lt-proc $1 y\n")
    assert [stage[1:] for stage in resident.mode_stages("x-y")] == [
        ["-z", "/a b/x.bin"],
        ["-z", "-n", "y"],
    ]


@needs(HAS_SPANISH and "eng-spa" in apertium.available_modes(), NO_APERTIUM)
def test_only_the_most_recently_used_directions_stay(monkeypatch):
    monkeypatch.setenv(resident.ENABLED_ENV, "2")
    resident.translate("spa-eng", "Hola.", timeout=60)
    first = resident._pipelines["spa-eng"]
    resident.translate("eng-spa", "Hello.", timeout=60)
    resident.translate("spa-eng", "Adiós.", timeout=60)  # used again: kept
    third = sorted(set(apertium.available_modes()) - {"spa-eng", "eng-spa"})[0]
    resident.translate(third, "Hola.", timeout=60)
    assert list(resident._pipelines) == ["spa-eng", third]
    assert resident._pipelines["spa-eng"] is first and first.alive()
    monkeypatch.setenv(resident.ENABLED_ENV, "many")
    with pytest.raises(ValueError, match="number of directions"):
        resident.enabled()
