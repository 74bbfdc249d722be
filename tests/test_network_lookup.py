"""Where the CLI looks for the network when --network is not given, and what it says when it is not there."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image
from synthetic_vgg import sample_image, write_vgg19_mat

import stylize_cli
from vgg.net import discovery as download


@pytest.fixture(autouse=True)
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


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


def test_cli_without_the_network_names_the_download_command(cli_files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path / "cache")  # a working directory without the network
    assert stylize_cli.main(cli_argv(cli_files)) == 2
    err = capsys.readouterr().err
    assert err == (
        "stylize: error: network imagenet-vgg-verydeep-19.mat is neither in the working directory nor in "
        f"{tmp_path / 'cache' / 'minigrad-style'} (fetch it with: python -m vgg.download; or pass --network PATH)\n"
    )
    assert stylize_cli.main(cli_argv(cli_files, "--network", str(tmp_path / "no.mat"))) == 2
    err = capsys.readouterr().err
    assert err.endswith(f"does not exist (fetch it with: python -m vgg.download --output {tmp_path / 'no.mat'})\n")
