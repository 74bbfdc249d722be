"""Where the CLI looks for the network when --network is not given, what it says it used, and what it says when
there is none: the working directory, the cache, Keras's directory, ./models; each known file name."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image
from synthetic_keras import write_vgg19_h5
from synthetic_vgg import random_weights, sample_image, write_vgg19_mat

import stylize_cli
from vgg.net import discovery as download
from vgg.net import releases

MAT, KERAS, KERAS_TOP, CAFFE = releases.DEFAULT_NAMES


@pytest.fixture(autouse=True)
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))


def test_cache_directory_follows_xdg(monkeypatch, tmp_path):
    assert download.cache_dir() == str(tmp_path / "cache" / "minigrad-style")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert download.cache_dir() == str(tmp_path / "home" / ".cache" / "minigrad-style")


def test_find_network_looks_in_the_working_directory_then_the_cache(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "imagenet-vgg-verydeep-19.mat"
    assert download.find_network() is None and download.find_network("elsewhere/" + name) is None
    cached = tmp_path / "cache" / "minigrad-style" / name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"cached")
    assert download.find_network() == str(cached) == download.find_network(name)
    (tmp_path / name).write_bytes(b"here")
    assert download.find_network() == name
    assert download.find_network(str(cached)) == str(cached)


def test_keras_directory_follows_keras_home(monkeypatch, tmp_path):
    assert download.keras_dir() == str(tmp_path / "keras" / "models")
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert download.keras_dir() == str(tmp_path / "home" / ".keras" / "models")


def _put(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return str(path)


def test_without_a_name_every_known_file_is_looked_for_place_by_place(tmp_path, monkeypatch):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert download.find_network() is None
    _put(tmp_path / "work" / "models" / CAFFE)  # where jcjohnson/neural-style's script puts it
    assert download.find_network() == os.path.join("models", CAFFE)
    keras_top = _put(tmp_path / "keras" / "models" / KERAS_TOP)
    assert download.find_network() == keras_top  # Keras's directory before ./models
    keras = _put(tmp_path / "keras" / "models" / KERAS)
    assert download.find_network() == keras  # the file without the top first in a place
    cached = _put(tmp_path / "cache" / "minigrad-style" / CAFFE)
    assert download.find_network() == cached  # the cache before Keras's directory
    mat = _put(tmp_path / "cache" / "minigrad-style" / MAT)
    assert download.find_network() == mat  # the .mat first in each place
    _put(tmp_path / "work" / KERAS)
    assert download.find_network() == KERAS  # the working directory first
    assert download.find_network(CAFFE) == cached  # a bare name: only that name, in the same places
    assert download.find_network(KERAS_TOP) == keras_top


@pytest.fixture
def cli_files(tmp_path):
    (tmp_path / "cache").mkdir()
    write_vgg19_mat(tmp_path / "vgg.mat", "old")
    Image.fromarray(sample_image(16, 20, seed=1).astype(np.uint8)).save(tmp_path / "content.png")
    Image.fromarray(sample_image(16, 16, seed=2).astype(np.uint8)).save(tmp_path / "style.png")
    return tmp_path


def cli_argv(files, *extra):
    paths = ["--content", str(files / "content.png"), "--styles", str(files / "style.png")]
    return [*paths, "--output", str(files / "out.png"), "--iterations", "1", *extra]


def test_cli_finds_the_network_in_the_cache(cli_files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path / "cache")  # a working directory without the network
    cached = tmp_path / "cache" / "minigrad-style" / "imagenet-vgg-verydeep-19.mat"
    cached.parent.mkdir(parents=True)
    os.replace(cli_files / "vgg.mat", cached)
    assert stylize_cli.main(cli_argv(cli_files)) == 0, capsys.readouterr().err
    assert (cli_files / "out.png").exists()


def test_cli_says_which_file_it_found_only_when_no_network_is_given(cli_files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path / "cache")
    found = tmp_path / "keras" / "models" / KERAS
    found.parent.mkdir(parents=True)
    write_vgg19_h5(found, random_weights())
    assert stylize_cli.main(cli_argv(cli_files)) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("stylize: note: ")]
    assert notes == [f"stylize: note: no --network given: using {found}"]
    assert stylize_cli.main(cli_argv(cli_files, "--network", str(found), "--overwrite")) == 0
    assert "no --network given" not in capsys.readouterr().err


def test_cli_without_the_network_names_the_download_command(cli_files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path / "cache")  # a working directory without the network
    assert stylize_cli.main(cli_argv(cli_files)) == 2
    err = capsys.readouterr().err
    places = (
        f"the working directory, {tmp_path / 'cache' / 'minigrad-style'}, {tmp_path / 'keras' / 'models'} or ./models"
    )
    assert err == (
        f"stylize: error: no --network given, and none of {MAT}, {KERAS}, {KERAS_TOP}, {CAFFE} is in {places} "
        "(fetch one with: python -m vgg.download; or pass --network PATH)\n"
    )
    assert stylize_cli.main(cli_argv(cli_files, "--network", CAFFE)) == 2
    err = capsys.readouterr().err
    assert err == (
        f"stylize: error: network {CAFFE} is not in {places} "
        f"(fetch it with: python -m vgg.download --output {CAFFE}; or pass --network PATH)\n"
    )
    assert stylize_cli.main(cli_argv(cli_files, "--network", str(tmp_path / "no.mat"))) == 2
    err = capsys.readouterr().err
    assert err.endswith(f"does not exist (fetch it with: python -m vgg.download --output {tmp_path / 'no.mat'})\n")
